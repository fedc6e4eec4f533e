from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from refmeter.common.after_response import after_response
from refmeter.organisations.network import client_address
from refmeter.organisations.services import (
    UnableToAuthenticateToken,
    api_token_authenticate,
)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rm_…``; the request then acts as the token's user.

    A refused token answers 401 with the reason in Chinese; an address that sent too many
    unknown tokens answers 429 (see ``too_many_requests_handler``).
    """

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        if user is None:  # no "Authorization: Bearer …" header at all
            raise AuthenticationError(
                message=_("需要接口令牌：请在请求头中提供 Authorization: Bearer <接口令牌>。")
            )
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            user = api_token_authenticate(
                key=token,
                now=timezone.now(),
                client=client_address(request),
                defer=functools.partial(after_response, request),
            )
        except UnableToAuthenticateToken as refusal:
            raise AuthenticationError(message=str(refusal)) from refusal
        request.user = user
        return user


def too_many_requests_handler(
    api: NinjaAPI,
) -> Callable[[HttpRequest, Any], HttpResponse]:
    """The API's answer to TooManyRequests: 429, ``{"detail": "<中文说明>"}`` and Retry-After."""

    def answer(request: HttpRequest, exc: Any) -> HttpResponse:
        response = api.create_response(request, {"detail": str(exc)}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response

    return answer
