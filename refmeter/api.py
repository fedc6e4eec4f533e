"""The REST API: one NinjaAPI that mounts each app's router. OpenAPI at /api/v1/docs."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
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


def _refusal_schema(*, listed: bool = False) -> dict[str, Any]:
    """``{"detail": "<中文说明>"}``; with ``listed``, also each bad value in ``errors``."""
    properties: dict[str, Any] = {"detail": {"type": "string", "description": _("拒绝的原因")}}
    if listed:
        properties["errors"] = {
            "type": "array",
            "description": _("逐项：位置、错误类型、说明"),
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "type": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        }
    return {"type": "object", "properties": properties, "required": ["detail"]}


class RefmeterApi(NinjaAPI):
    """Its OpenAPI document lists the refusals every operation can answer besides its own:
    400 (a NUL character in the address or query, an unreadable body), 401 where a token is
    needed and 422 (a value outside its schema) where the request has parameters or a body."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    _declare(responses, 401, _("未认证：令牌缺失、无效、已过期或已停用。"))
                _declare(responses, 400, _("请求无效：例如含有空字符（NUL）或无法解析。"))
                if operation.get("parameters") or operation.get("requestBody"):
                    _declare(responses, 422, _("参数不符合要求：detail 逐项说明。"), listed=True)
        return schema


def _declare(
    responses: dict[Any, Any], status: int, description: str, *, listed: bool = False
) -> None:
    if status in responses or str(status) in responses:
        return
    responses[status] = {
        "description": description,
        "content": {"application/json": {"schema": _refusal_schema(listed=listed)}},
    }


api = RefmeterApi(
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


# Where a value is, in words: ("query", "limit") is 查询参数 limit; a body's own name is left out.
PLACES = {
    "query": _lazy("查询参数"),
    "path": _lazy("路径参数"),
    "body": _lazy("请求体"),
    "header": _lazy("请求头"),
    "cookie": _lazy("Cookie"),
    "form": _lazy("表单字段"),
    "file": _lazy("上传文件"),
}
# Pydantic's error types, as a user would be told; anything else is 取值无效.
PROBLEMS = {
    "missing": _lazy("为必填项"),
    "int_parsing": _lazy("应为整数"),
    "int_type": _lazy("应为整数"),
    "int_from_float": _lazy("应为整数"),
    "float_parsing": _lazy("应为数字"),
    "float_type": _lazy("应为数字"),
    "decimal_parsing": _lazy("应为数字"),
    "decimal_type": _lazy("应为数字"),
    "finite_number": _lazy("应为有限的数字"),
    "decimal_max_digits": _lazy("数字位数不能超过 %(max_digits)s 位"),
    "decimal_max_places": _lazy("小数不能超过 %(decimal_places)s 位"),
    "decimal_whole_digits": _lazy("整数部分不能超过 %(whole_digits)s 位"),
    "greater_than_equal": _lazy("应不小于 %(ge)s"),
    "greater_than": _lazy("应大于 %(gt)s"),
    "less_than_equal": _lazy("应不大于 %(le)s"),
    "less_than": _lazy("应小于 %(lt)s"),
    "date_parsing": _lazy("应为 YYYY-MM-DD 格式的日期"),
    "date_from_datetime_parsing": _lazy("应为 YYYY-MM-DD 格式的日期"),
    "date_from_datetime_inexact": _lazy("应为 YYYY-MM-DD 格式的日期"),
    "date_type": _lazy("应为 YYYY-MM-DD 格式的日期"),
    "datetime_parsing": _lazy("应为 ISO 8601 格式的时间"),
    "datetime_type": _lazy("应为 ISO 8601 格式的时间"),
    "string_type": _lazy("应为文本"),
    "string_too_long": _lazy("长度不能超过 %(max_length)s 个字符"),
    "string_too_short": _lazy("长度不能少于 %(min_length)s 个字符"),
    "string_pattern_mismatch": _lazy("格式不正确"),
    "too_long": _lazy("不能超过 %(max_length)s 项"),
    "too_short": _lazy("不能少于 %(min_length)s 项"),
    "list_type": _lazy("应为数组"),
    "dict_type": _lazy("应为 JSON 对象"),
    "model_type": _lazy("应为 JSON 对象"),
    "model_attributes_type": _lazy("应为 JSON 对象"),
    "bool_parsing": _lazy("应为 true 或 false"),
    "bool_type": _lazy("应为 true 或 false"),
    "literal_error": _lazy("应为以下值之一：%(expected)s"),
    "enum": _lazy("应为以下值之一：%(expected)s"),
    "json_invalid": _lazy("不是有效的 JSON"),
    "extra_forbidden": _lazy("不是可接受的字段"),
}
# A bound on a date reads as a time, not as a size.
DATE_PROBLEMS = {
    "greater_than_equal": _lazy("应不早于 %(ge)s"),
    "greater_than": _lazy("应晚于 %(gt)s"),
    "less_than_equal": _lazy("应不晚于 %(le)s"),
    "less_than": _lazy("应早于 %(lt)s"),
}
MAX_LISTED = 20


def _place(loc: list[Any] | tuple[Any, ...]) -> tuple[list[Any], str]:
    """The location to report (a body's parameter name dropped) and its words."""
    where = list(loc)
    if len(where) > 2 and where[0] == "body":
        del where[1]
    path = ""
    for part in where[1:]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    place = str(PLACES.get(str(where[0]), where[0])) if where else ""
    return where, f"{place} {path}".strip()


def _problem(error: dict[str, Any]) -> str:
    ctx = {key: value for key, value in (error.get("ctx") or {}).items()}
    if error.get("type") == "value_error" and ctx.get("error"):
        message = str(ctx["error"]).removeprefix("Value error, ")
        # Our validators refuse in Chinese; a Python message ("month must be in 1..12") is not
        # for users.
        return message if re.search(r"[\u4e00-\u9fff]", message) else _("取值无效")
    kind = str(error.get("type"))
    template = PROBLEMS.get(kind)
    if kind in DATE_PROBLEMS and any(_is_date(value) for value in ctx.values()):
        template = DATE_PROBLEMS[kind]
    if template is None:
        return _("取值无效")
    if "expected" in ctx:  # pydantic joins the choices in English: 'a', 'b' or 'c'
        ctx["expected"] = str(ctx["expected"]).replace(" or ", ", ")
    try:
        return str(template) % {key: _shown(value) for key, value in ctx.items()}
    except (KeyError, TypeError, ValueError):
        return _("取值无效")


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) or bool(
        isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)
    )


def _shown(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _invalid(request: HttpRequest, exc: Any) -> HttpResponse:
    """422: every problem, in Chinese in ``detail`` and one by one in ``errors``."""
    errors = []
    for error in exc.errors:
        loc, place = _place(error.get("loc") or ())
        errors.append(
            {"loc": loc, "type": error.get("type", ""), "message": _problem(error), "place": place}
        )
    listed = "；".join(f"{error['place']} {error['message']}" for error in errors[:MAX_LISTED])
    if len(errors) > MAX_LISTED:
        listed += _("；等共 %(count)d 处") % {"count": len(errors)}
    detail = _("请求参数有误：%(problems)s。") % {"problems": listed}
    body = {
        "detail": detail,
        "errors": [{key: error[key] for key in ("loc", "type", "message")} for error in errors],
    }
    return api.create_response(request, body, status=422)


def _unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
    """401: the token's refusal as TokenAuth gave it, or how to authenticate at all."""
    detail = exc.message
    if detail == AuthenticationError().message:
        detail = _("需要接口令牌：请在请求头中提供 Authorization: Bearer <接口令牌>。")
    response = api.create_response(request, {"detail": detail}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


def _not_found(request: HttpRequest, exc: Any) -> HttpResponse:
    return api.create_response(request, {"detail": _("未找到请求的记录。")}, status=404)


api.add_exception_handler(HttpError, _http_error)
api.add_exception_handler(ActionNotAllowed, _action_not_allowed)
api.add_exception_handler(ValidationError, _invalid)
api.add_exception_handler(AuthenticationError, _unauthenticated)
api.add_exception_handler(Http404, _not_found)
api.add_exception_handler(RequestDataTooBig, _body_too_big)
api.add_exception_handler(TooManyRequests, too_many_requests_handler(api))
api.add_router("/", registry_router)
api.add_router("/", labels_router)
api.add_router("/", billing_router)
api.add_router("/", lineloss_router)
