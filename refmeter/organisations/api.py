from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from refmeter.organisations.services import UnableToAuthenticateToken, api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rm_…``; the request then acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            user = api_token_authenticate(key=token, now=timezone.now())
        except UnableToAuthenticateToken:
            return None
        request.user = user
        return user
