from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from refmeter.common.periods import EARLIEST_DATE, LATEST_DATE
from refmeter.organisations.api import TokenAuth
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.registry import selectors, services

router = Router(auth=TokenAuth(), tags=["registry"])


class GroupOut(Schema):
    group_id: int
    unit_name: str
    customer_name: str
    base_account_number: str
    base_name: str
    base_address: str
    device_type: str
    meter_asset_number: str
    created_date: dt.date
    status: str
    active_points: int


class GroupDetailOut(Schema):
    group_id: int
    unit_name: str
    customer_name: str
    device_type: str
    tariff_code: str
    meter_asset_number: str
    meter_barcode: str
    meter_box_resource_number: str
    ct_ratio: int
    meter_install_date: dt.date
    created_date: dt.date
    status: str
    closed_date: dt.date | None
    base_account_number: str
    base_name: str
    base_address: str
    multiplier: int
    active_sub_accounts: int
    sub_account_limit: int
    version: int


class PointOut(Schema):
    point_id: int
    group_id: int
    kind: str
    account_number: str
    name: str
    device_address: str
    nearby_number: str
    access_point_number: str
    access_point_name: str
    area_number: str
    area_name: str
    status: str
    active_from_date: dt.date | None
    active_to_date: dt.date | None
    base_account_number: str
    version: int


class PointPatch(Schema):
    """At most as long as the columns (and the page's form) hold."""

    reason: str = Field(..., max_length=500)
    name: str | None = Field(None, max_length=200)
    device_address: str | None = Field(None, max_length=300)
    area_number: str | None = Field(None, max_length=32)
    access_point_number: str | None = Field(None, max_length=17)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError(_("不能含有空字符（NUL）"))
        return value


class MultiplierOut(Schema):
    group_id: int
    on_date: dt.date
    multiplier: int
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    point_days: int | None = None


class HistoryOut(Schema):
    occurred_at: dt.datetime
    actor_name: str
    action: str
    subject_label: str
    changes: list[tuple[str, Any, Any]]
    reason: str
    work_order: str


class GroupFilters(Schema):
    unit_id: int | None = None
    customer: str = ""
    name: str = ""
    address: str = ""
    account_number: str = ""
    created_from: dt.date | None = None
    created_to: dt.date | None = None


class CountRow(Schema):
    points: int
    customer: str | None = None
    device_type: str | None = None
    area_number: str | None = None
    area: str | None = None


class StatisticsOut(Schema):
    as_of: dt.date
    total: int
    by_customer: list[CountRow]
    by_device_type: list[CountRow]
    by_area: list[CountRow]


class Refused(Schema):
    detail: str


# Beyond any count the registry will hold; a bigger offset is a mistake, not a page.
MAX_OFFSET = 10_000_000


class Paging(Schema):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class MultiplierQuery(Schema):
    on_date: dt.date | None = Field(None, ge=EARLIEST_DATE, le=LATEST_DATE)
    period_start: dt.date | None = Field(None, ge=EARLIEST_DATE, le=LATEST_DATE)
    period_end: dt.date | None = Field(None, ge=EARLIEST_DATE, le=LATEST_DATE)


class GroupPage(Schema):
    count: int
    items: list[GroupOut]


class PointPage(Schema):
    count: int
    items: list[PointOut]


def _refusal(error: Exception) -> HttpError:
    if isinstance(error, selectors.RecordNotVisible):
        return HttpError(404, str(error))
    if isinstance(error, ActionNotAllowed):
        return HttpError(403, str(error))
    return HttpError(400, str(error))


def _user(request: HttpRequest) -> User:
    # TokenAuth has put the token's user on the request.
    return cast(User, request.user)


def _today() -> dt.date:
    return timezone.localdate()


@router.get("/groups", response={200: GroupPage, 403: Refused, 404: Refused})
def list_groups(request: HttpRequest, filters: Query[GroupFilters], paging: Query[Paging]) -> Any:
    try:
        groups = selectors.group_search(
            user=_user(request),
            as_of=_today(),
            **filters.dict(exclude_none=True),
        )
    except (selectors.RecordNotVisible, ActionNotAllowed) as error:
        raise _refusal(error) from error
    window = groups[paging.offset : paging.offset + paging.limit]
    return {"count": groups.count(), "items": selectors.group_rows(groups=window, as_of=_today())}


@router.get("/groups/{group_id}", response={200: GroupDetailOut, 404: Refused, 403: Refused})
def get_group(request: HttpRequest, group_id: int) -> Any:
    try:
        return selectors.group_detail(user=_user(request), group_id=group_id, as_of=_today())
    except (selectors.RecordNotVisible, ActionNotAllowed) as error:
        raise _refusal(error) from error


@router.get("/groups/{group_id}/points", response={200: PointPage, 403: Refused, 404: Refused})
def list_group_points(request: HttpRequest, group_id: int, paging: Query[Paging]) -> Any:
    try:
        points = selectors.group_points(user=_user(request), group_id=group_id)
    except (selectors.RecordNotVisible, ActionNotAllowed) as error:
        raise _refusal(error) from error
    window = points[paging.offset : paging.offset + paging.limit]
    return {"count": points.count(), "items": selectors.point_rows(points=window)}


@router.get(
    "/groups/{group_id}/multiplier",
    response={200: MultiplierOut, 400: Refused, 403: Refused, 404: Refused},
)
def get_group_multiplier(request: HttpRequest, group_id: int, dates: Query[MultiplierQuery]) -> Any:
    """The multiplier on a date, and the point-days of a half-open period if one is given."""
    from refmeter.common.periods import Period

    on_date, period_start, period_end = dates.on_date, dates.period_start, dates.period_end

    try:
        selectors.group_get(user=_user(request), group_id=group_id)
    except (selectors.RecordNotVisible, ActionNotAllowed) as error:
        raise _refusal(error) from error
    day = on_date or _today()
    result: dict[str, Any] = {
        "group_id": group_id,
        "on_date": day,
        "multiplier": selectors.group_multiplier_on(group_id=group_id, on_date=day),
    }
    if period_start and period_end:
        if period_end < period_start:
            raise HttpError(400, _("期间的结束日期不能早于开始日期。"))
        result.update(
            period_start=period_start,
            period_end=period_end,
            point_days=selectors.group_point_days(
                group_id=group_id, period=Period(period_start, period_end)
            ),
        )
    return result


# Optimistic concurrency (docs/architecture.md): a point's ETag is its version, a strong tag
# such as "3". A PATCH with If-Match is saved only if the point is still at that version;
# otherwise 412 and nothing changes. A PATCH without If-Match (or with *) applies to the
# current version, as before.
ETAG_HEADER = {
    "ETag": {
        "description": '用电点的版本号（强标记，如 "3"），修改时放入 If-Match。',
        "schema": {"type": "string"},
    }
}


def _etag(version: int) -> str:
    return f'"{version}"'


class _UnusableTag(Exception):
    pass


def _expected_version(if_match: str | None) -> int | None:
    """The version an If-Match names; None for no precondition (absent, or ``*``)."""
    if if_match is None or not if_match.strip() or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    if tag.startswith('"') and tag.endswith('"') and len(tag) >= 2:
        tag = tag[1:-1]
    if not tag.isascii() or not tag.isdigit():
        raise _UnusableTag  # weak (W/"3"), a list, or not ours: it cannot match
    return int(tag)


@router.get(
    "/points/{point_id}",
    response={200: PointOut, 404: Refused, 403: Refused},
    openapi_extra={"responses": {200: {"headers": ETAG_HEADER}}},
)
def get_point(request: HttpRequest, point_id: int, response: HttpResponse) -> Any:
    try:
        point = selectors.point_detail(user=_user(request), point_id=point_id)
    except (selectors.RecordNotVisible, ActionNotAllowed) as error:
        raise _refusal(error) from error
    response["ETag"] = _etag(point.version)
    return point


@router.patch(
    "/points/{point_id}",
    response={200: PointOut, 400: Refused, 403: Refused, 404: Refused, 412: Refused},
    openapi_extra={
        "responses": {
            200: {"headers": ETAG_HEADER},
            412: {
                "description": "If-Match 的版本已过时：期间有人修改了该用电点，本次未保存。",
                "headers": ETAG_HEADER,
            },
        }
    },
)
def patch_point(
    request: HttpRequest,
    point_id: int,
    payload: PointPatch,
    response: HttpResponse,
    if_match: str | None = Header(
        None,
        alias="If-Match",
        description="GET 返回的 ETag；版本已变时返回 412，不覆盖他人的修改。不带则按当前版本修改。",
    ),
) -> Any:
    user = _user(request)
    try:
        expected_version = _expected_version(if_match)
    except _UnusableTag:
        try:
            selectors.point_get(user=user, point_id=point_id)
        except (selectors.RecordNotVisible, ActionNotAllowed) as error:
            raise _refusal(error) from error
        return Status(
            412,
            {"detail": _('If-Match 须为本接口返回的 ETag（例如 "1"），弱标记 W/ 不能用于修改。')},
        )
    try:
        services.point_update(
            actor=user,
            point_id=point_id,
            now=timezone.now(),
            expected_version=expected_version,
            **payload.dict(),
        )
    except services.UnableToSaveStaleEdit as error:
        response["ETag"] = _etag(error.current_version)
        return Status(412, {"detail": str(error)})
    except (
        selectors.RecordNotVisible,
        ActionNotAllowed,
        services.UnableToChangeRegistry,
    ) as error:
        raise _refusal(error) from error
    point = selectors.point_detail(user=user, point_id=point_id)
    response["ETag"] = _etag(point.version)
    return point


@router.get(
    "/points/{point_id}/history", response={200: list[HistoryOut], 403: Refused, 404: Refused}
)
def get_point_history(request: HttpRequest, point_id: int) -> Any:
    try:
        return selectors.point_history(user=_user(request), point_id=point_id)
    except (selectors.RecordNotVisible, ActionNotAllowed) as error:
        raise _refusal(error) from error


@router.get("/statistics", response={200: StatisticsOut, 403: Refused})
def get_statistics(request: HttpRequest) -> Any:
    try:
        return selectors.point_statistics(user=_user(request), as_of=_today())
    except ActionNotAllowed as error:
        raise _refusal(error) from error
