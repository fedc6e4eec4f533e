"""Points: their rows, one point and its detail, its history."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from refmeter.audit.selectors import AuditLine, audit_history
from refmeter.common.sql import column, converted, fetch_one, table
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_path_is_visible, unit_scope
from refmeter.registry.models import (
    AccessPoint,
    Group,
    Point,
    PointKind,
    PointStatus,
    TransformerArea,
)
from refmeter.registry.selectors.base import _not_visible
from refmeter.registry.selectors.groups import group_get

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


# point_detail's columns: the point's own, then its access point's and area's.
_DETAIL_POINT_FIELDS = (
    "id", "group", "kind", "account_number", "name", "device_address", "nearby_number",
    "status", "active_from_date", "active_to_date", "version",
)  # fmt: skip


@functools.cache
def _point_detail_sql() -> str:
    def own(name: str) -> str:
        return f"p.{column(Point, name)}"

    base = (
        f"(SELECT b.{column(Point, 'account_number')} FROM {table(Point)} b "
        f"WHERE b.{column(Point, 'group')} = {own('group')} AND b.{column(Point, 'kind')} = %s "
        "LIMIT 1)"
    )
    return (
        f"SELECT {', '.join(own(name) for name in _DETAIL_POINT_FIELDS)}, "
        f"ap.{column(AccessPoint, 'number')}, ap.{column(AccessPoint, 'name')}, "
        f"ar.{column(TransformerArea, 'number')}, ar.{column(TransformerArea, 'name')}, "
        f"u.{column(SupplyUnit, 'path')}, {base} "
        f"FROM {table(Point)} p "
        f"JOIN {table(Group)} g ON g.{column(Group, 'id')} = {own('group')} "
        f"JOIN {table(SupplyUnit)} u ON u.{column(SupplyUnit, 'id')} = g.{column(Group, 'unit')} "
        f"LEFT JOIN {table(AccessPoint)} ap ON ap.{column(AccessPoint, 'id')} = "
        f"{own('access_point')} "
        f"LEFT JOIN {table(TransformerArea)} ar ON ar.{column(TransformerArea, 'id')} = "
        f"{own('area')} "
        f"WHERE {own('id')} = %s"
    )


def point_detail(*, user: User, point_id: int) -> PointRow:
    """One point as a row, in one prepared statement (its access point, area and base
    account with it): the API's point read, where building the query through the ORM
    cost more than running it. Out of the user's units it is not found, as missing."""
    require(user=user, action=Action.VIEW_REGISTRY)
    row = fetch_one(_point_detail_sql(), [PointKind.BASE.value, point_id])
    if row is None or not unit_path_is_visible(user=user, path=row[-2]):
        raise _not_visible(_("用电点"))
    values = {
        name: converted(Point, name, value)
        for name, value in zip(_DETAIL_POINT_FIELDS, row, strict=False)
    }
    access_number, access_name, area_number, area_name = row[len(_DETAIL_POINT_FIELDS) : -2]
    shown = {
        **values,
        "pk": values["id"],
        "group_id": values["group"],
        "access_point__number": access_number,
        "access_point__name": access_name,
        "area__number": area_number,
        "area__name": area_name,
    }
    return _point_rows_from_values([shown], row[-1] or "")[0]


def point_history(*, user: User, point_id: int) -> list[AuditLine]:
    point = point_get(user=user, point_id=point_id)
    return audit_history(subject_type="point", subject_id=point.pk)
