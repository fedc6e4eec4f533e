"""Exporting the check list: the running groups and their points, one workbook."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Group, GroupStatus, Point, PointKind, PointStatus
from refmeter.registry.selectors import active_on_filter
from refmeter.spreadsheets.stock.layout import (
    ACTIVE_WORD,
    CANCELLED_WORD,
    GROUP_COLUMNS,
    GROUP_SHEET,
    POINT_COLUMNS,
    POINT_SHEET,
    Progress,
    _no_progress,
)

# ---------------------------------------------------------------- export


def _header_row(sheet: Any, labels: Iterable[str]) -> list[WriteOnlyCell]:
    cells = []
    for label in labels:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def stock_export(*, actor: User | None, as_of: dt.date, progress: Progress = _no_progress) -> bytes:
    """Every running group the actor may see (all of them for ``actor`` None), in bounded
    memory: rows are streamed from the database into a write-only workbook."""
    groups = Group.objects.filter(status=GroupStatus.RUNNING)
    if actor is not None:
        require(user=actor, action=Action.EXPORT_STOCK)
        groups = groups.filter(unit_scope(user=actor))
    total = groups.count()
    workbook = Workbook(write_only=True)
    group_sheet = workbook.create_sheet(GROUP_SHEET)
    group_sheet.append(_header_row(group_sheet, [label for _key, label in GROUP_COLUMNS]))
    counts = dict(
        Point.objects.filter(active_on_filter(as_of), group__in=groups)
        .values("group_id")
        .annotate(points=Count("id"))
        .values_list("group_id", "points")
    )
    bases = (
        Point.objects.filter(group__in=groups, kind=PointKind.BASE)
        .select_related(
            "group__unit", "group__customer", "group__device_type", "access_point", "area"
        )
        .order_by("group__unit__code", "account_number")
    )
    for index, base in enumerate(bases.iterator(chunk_size=2000), start=1):
        group = base.group
        group_sheet.append(
            [
                group.unit.code,
                group.unit.name,
                group.customer.name,
                base.account_number,
                base.name,
                base.device_address,
                group.created_date,
                group.meter_barcode,
                group.meter_asset_number,
                group.meter_box_resource_number,
                group.ct_ratio,
                group.tariff_code,
                group.device_type.name,
                base.access_point.number if base.access_point else "",
                base.access_point.name if base.access_point else "",
                base.area.number if base.area else "",
                counts.get(group.pk, 0),
            ]
        )
        if index % 500 == 0:
            progress(index, total, _("导出基准户"))
    point_sheet = workbook.create_sheet(POINT_SHEET)
    point_sheet.append(_header_row(point_sheet, [label for _key, label in POINT_COLUMNS]))
    base_numbers = dict(
        Point.objects.filter(group__in=groups, kind=PointKind.BASE).values_list(
            "group_id", "account_number"
        )
    )
    points = (
        Point.objects.filter(group__in=groups, kind=PointKind.SUB)
        .select_related("access_point", "area")
        .order_by("group_id", "account_number")
    )
    status_words = {PointStatus.ACTIVE: ACTIVE_WORD, PointStatus.CANCELLED: CANCELLED_WORD}
    for index, point in enumerate(points.iterator(chunk_size=5000), start=1):
        point_sheet.append(
            [
                base_numbers[point.group_id],
                point.account_number,
                point.name,
                point.device_address,
                point.nearby_number,
                point.access_point.number if point.access_point else "",
                point.access_point.name if point.access_point else "",
                point.area.number if point.area else "",
                point.active_from_date,
                point.active_to_date,
                status_words.get(point.status, str(point.get_status_display())),  # type: ignore[call-overload]
            ]
        )
        if index % 5000 == 0:
            progress(index, 0, _("导出虚拟子户"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
