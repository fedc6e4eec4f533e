"""Points: their rows, one point and its detail, its history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from refmeter.audit.selectors import AuditLine, audit_history
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Point, PointKind, PointStatus
from refmeter.registry.selectors.base import _not_visible
from refmeter.registry.selectors.groups import group_get
from refmeter.registry.selectors.multipliers import base_account_subquery

# ---------------------------------------------------------------- points


@dataclass(frozen=True)
class PointRow:
    point_id: int
    group_id: int
    kind: str
    kind_label: str
    account_number: str
    name: str
    device_address: str
    nearby_number: str
    access_point_number: str
    access_point_name: str
    area_number: str
    area_name: str
    status: str
    status_label: str
    active_from_date: dt.date | None
    active_to_date: dt.date | None
    base_account_number: str
    version: int


def _point_row(point: Point, base_account_number: str) -> PointRow:
    access_point = point.access_point
    area = point.area
    return PointRow(
        point_id=point.pk,
        group_id=point.group_id,
        kind=point.kind,
        kind_label=point.get_kind_display(),
        account_number=point.account_number,
        name=point.name,
        device_address=point.device_address,
        nearby_number=point.nearby_number,
        access_point_number=access_point.number if access_point else "",
        access_point_name=access_point.name if access_point else "",
        area_number=area.number if area else "",
        area_name=area.name if area else "",
        status=point.status,
        status_label=point.get_status_display(),
        active_from_date=point.active_from_date,
        active_to_date=point.active_to_date,
        base_account_number=base_account_number,
        version=point.version,
    )


# A point's row as values, without building model instances (the hot pages).
_ROW_FIELDS = (
    "pk",
    "group_id",
    "kind",
    "account_number",
    "name",
    "device_address",
    "nearby_number",
    "access_point__number",
    "access_point__name",
    "area__number",
    "area__name",
    "status",
    "active_from_date",
    "active_to_date",
    "version",
)


def _point_rows_from_values(
    rows: Iterable[dict[str, Any]], base_account_number: str
) -> list[PointRow]:
    kinds = {value: str(label) for value, label in PointKind.choices}
    statuses = {value: str(label) for value, label in PointStatus.choices}
    return [
        PointRow(
            point_id=row["pk"],
            group_id=row["group_id"],
            kind=row["kind"],
            kind_label=kinds.get(row["kind"], row["kind"]),
            account_number=row["account_number"],
            name=row["name"],
            device_address=row["device_address"],
            nearby_number=row["nearby_number"],
            access_point_number=row["access_point__number"] or "",
            access_point_name=row["access_point__name"] or "",
            area_number=row["area__number"] or "",
            area_name=row["area__name"] or "",
            status=row["status"],
            status_label=statuses.get(row["status"], row["status"]),
            active_from_date=row["active_from_date"],
            active_to_date=row["active_to_date"],
            base_account_number=base_account_number,
            version=row["version"],
        )
        for row in rows
    ]


def group_points(*, user: User, group_id: int) -> QuerySet[Point]:
    """The group's points, base account first; page it, then pass it to :func:`point_rows`."""
    group = group_get(user=user, group_id=group_id)
    return Point.objects.filter(group=group).order_by("kind", "account_number")


def point_rows(*, points: Iterable[Point]) -> list[PointRow]:
    point_list = list(points)
    if not point_list:
        return []
    ids = [point.pk for point in point_list]
    loaded = {
        point.pk: point
        for point in Point.objects.filter(pk__in=ids).select_related("access_point", "area")
    }
    group_ids = {point.group_id for point in point_list}
    base_numbers = dict(
        Point.objects.filter(group_id__in=group_ids, kind=PointKind.BASE).values_list(
            "group_id", "account_number"
        )
    )
    return [
        _point_row(loaded[point_id], base_numbers.get(loaded[point_id].group_id, ""))
        for point_id in ids
    ]


def point_rows_iter(*, user: User, group_id: int, chunk_size: int = 2000) -> Iterator[PointRow]:
    """Every point of a group for an export, in bounded memory."""
    group = group_get(user=user, group_id=group_id)
    base_number = (
        Point.objects.filter(group=group, kind=PointKind.BASE)
        .values_list("account_number", flat=True)
        .first()
        or ""
    )
    points = (
        Point.objects.filter(group=group)
        .select_related("access_point", "area")
        .order_by("kind", "account_number")
    )
    for point in points.iterator(chunk_size=chunk_size):
        yield _point_row(point, base_number)


def point_get(*, user: User, point_id: int) -> Point:
    require(user=user, action=Action.VIEW_REGISTRY)
    point = (
        Point.objects.filter(unit_scope(user=user, unit_field="group__unit"), pk=point_id)
        .select_related("group", "group__customer", "access_point", "area")
        .first()
    )
    if point is None:
        raise _not_visible(_("用电点"))
    return point


def point_detail(*, user: User, point_id: int) -> PointRow:
    """One point as a row, in one query (its access point, area and base account with it)."""
    require(user=user, action=Action.VIEW_REGISTRY)
    rows = list(
        Point.objects.filter(unit_scope(user=user, unit_field="group__unit"), pk=point_id)
        .values(*_ROW_FIELDS)
        .annotate(base_account_number=base_account_subquery())[:1]
    )
    if not rows:
        raise _not_visible(_("用电点"))
    return _point_rows_from_values(rows, rows[0]["base_account_number"] or "")[0]


def point_history(*, user: User, point_id: int) -> list[AuditLine]:
    point = point_get(user=user, point_id=point_id)
    return audit_history(subject_type="point", subject_id=point.pk)
