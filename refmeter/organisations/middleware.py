"""Security headers on every answer Django gives (static files are served before this).

- ``Content-Security-Policy`` and ``Permissions-Policy`` from the settings of the same names
  (``REFMETER_CONTENT_SECURITY_POLICY``, ``REFMETER_PERMISSIONS_POLICY``), unless a view
  set its own;
- pages and API answers for a logged-in user or an API token are marked
  ``Cache-Control: no-store`` (with Django's ``add_never_cache_headers``), so that neither
  the browser's back button after logging out nor a shared proxy keeps personal data.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "REFMETER_CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        permissions = getattr(settings, "REFMETER_PERMISSIONS_POLICY", "")
        if permissions and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions
        # The API's TokenAuth puts the token's user on the request inside the view.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class PasswordChangeRequiredMiddleware:
    """A user whose password an administrator set or reset is sent to the change-password
    page, whatever they ask for, until they have chosen their own (logging out, switching
    the language and static files excepted)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and request.path not in _free_paths()
            and not request.path.startswith(("/i18n/", settings.STATIC_URL or "/static/"))
        ):
            return redirect(f"{reverse('organisations:password_change')}?next={request.path}")
        return self.get_response(request)


def _free_paths() -> set[str]:
    return {reverse("organisations:password_change"), reverse("logout")}
