"""Request-wide behaviour.

Chinese unless the user chose otherwise: the browser's Accept-Language is not consulted,
so a workstation set up in English still shows the utility's language by default."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class ExplainedMethodRefusalMiddleware:
    """A 405 (a form's address opened directly, say) says why in the user's language instead
    of leaving the browser's bare error page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content:
            return response
        message = _("此操作须通过页面上的按钮提交，不能直接打开地址。")
        if request.path.startswith("/api/"):
            refusal: HttpResponse = JsonResponse({"detail": message}, status=405)
        else:
            refusal = render(request, "refusal.html", {"message": message}, status=405)
        if "Allow" in response:
            refusal["Allow"] = response["Allow"]
        return refusal
