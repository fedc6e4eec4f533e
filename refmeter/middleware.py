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


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class RefuseNulCharactersMiddleware:
    """A NUL character (``\\x00``, ``%00``) in the address, the query or a form is refused
    before any view reads it: no text in this system may hold one, and PostgreSQL cannot
    store or compare it. JSON bodies are checked by the API's schemas, uploaded files by
    their readers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: object, kwargs: object
    ) -> HttpResponse | None:
        texts = [request.path, *self._items(request.GET)]
        if request.method == "POST" and not _is_api(request):
            # The CSRF check before this has read the form already (the API reads its own).
            texts += self._items(request.POST)
        if not any("\x00" in text for text in texts):
            return None
        message = _("请求中含有空字符（NUL），已拒绝：请删除后重新提交。")
        if _is_api(request):
            return JsonResponse({"detail": message}, status=400)
        return render(request, "refusal.html", {"message": message}, status=400)

    @staticmethod
    def _items(query: object) -> list[str]:
        return [text for key, values in query.lists() for text in (key, *values)]  # type: ignore[attr-defined]


class ApiErrorsAsJsonMiddleware:
    """Every error under /api/ is JSON with a ``detail`` in the user's language, whoever
    answered it: an address no operation has, a method an operation lacks, a server error
    (with DEBUG on, a server error keeps Django's traceback page)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not _is_api(request)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
            or (response.status_code >= 500 and settings.DEBUG)
        ):
            return response
        answer = JsonResponse({"detail": self._detail(request, response.status_code)})
        answer.status_code = response.status_code
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer

    @staticmethod
    def _detail(request: HttpRequest, status: int) -> str:
        if status == 404:
            return _("没有这个接口地址，请核对（接口说明见 /api/v1/docs）。")
        if status == 405:
            return _("接口 %(path)s 不支持 %(method)s 请求。") % {
                "path": request.path,
                "method": request.method,
            }
        if status == 413:
            return _("请求内容过大，已拒绝。")
        if status >= 500:
            return _("服务器内部错误，请求未能完成；已记录，请稍后重试或联系系统管理员。")
        if status == 400:
            return _("请求无效，已拒绝。")
        if status == 403:
            return _("无权访问该接口。")
        return _("请求未能完成（HTTP %(status)d）。") % {"status": status}
