"""The REST API: one NinjaAPI that mounts each app's router. OpenAPI at /api/v1/docs."""

from __future__ import annotations

import json
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser

from refmeter.billing.api import router as billing_router
from refmeter.labels.api import router as labels_router
from refmeter.lineloss.api import router as lineloss_router
from refmeter.organisations.api import too_many_requests_handler
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.services import TooManyRequests
from refmeter.registry.api import router as registry_router


class Utf8JsonParser(Parser):
    """Request bodies are JSON in UTF-8 (RFC 8259); anything else is refused."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(request.body.decode("utf-8")))


api = NinjaAPI(
    title="refmeter API",
    version="1",
    description="参考表（虚拟倍率）客户管理接口。认证：Authorization: Bearer <接口令牌>。",
    urls_namespace="api",
    parser=Utf8JsonParser(),
)


def _http_error(request: HttpRequest, exc: Any) -> HttpResponse:
    """Ninja's answer, in Chinese when the body could not be parsed (the same limits and
    refusals as the pages and the command line: see docs/operations.md)."""
    detail = str(exc)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        detail = _("请求内容不是有效的 UTF-8 编码 JSON，已拒绝。")
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


def _body_too_big(request: HttpRequest, exc: Any) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    detail = _("请求内容超过 %(limit)d MB，已拒绝：请分批提交（每批不超过 %(limit)d MB）。") % {
        "limit": limit
    }
    return api.create_response(request, {"detail": detail}, status=413)


def _action_not_allowed(request: HttpRequest, exc: Any) -> HttpResponse:
    """A role the matrix (docs/permissions.md) refuses: 403 with the refusal in Chinese."""
    return api.create_response(request, {"detail": str(exc)}, status=403)


api.add_exception_handler(HttpError, _http_error)
api.add_exception_handler(ActionNotAllowed, _action_not_allowed)
api.add_exception_handler(RequestDataTooBig, _body_too_big)
api.add_exception_handler(TooManyRequests, too_many_requests_handler(api))
api.add_router("/", registry_router)
api.add_router("/", labels_router)
api.add_router("/", billing_router)
api.add_router("/", lineloss_router)
