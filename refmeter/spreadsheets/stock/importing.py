"""Importing a checked workbook: a dry run, or the changes applied group by group."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import sheet_names
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.registry.models import AccessPoint, Customer, Point, PointKind, PointStatus
from refmeter.registry.services import (
    NewGroup,
    PointInput,
    UnableToChangeRegistry,
    UnableToLoadGroups,
    customer_create,
    group_update,
    groups_load,
    point_update,
    sub_account_cancel,
    sub_accounts_add,
)
from refmeter.spreadsheets.stock.layout import (
    GROUP_SHEET,
    MAX_ROWS,
    POINT_SHEET,
    Progress,
    _no_progress,
)
from refmeter.spreadsheets.stock.reading import (
    GroupRow,
    PointRow,
    UnableToImportStock,
    _check_references,
    _read_groups,
    _read_points,
)

# ---------------------------------------------------------------- import


@dataclass
class StockResult:
    groups_created: int = 0
    groups_changed: int = 0
    groups_unchanged: int = 0
    points_created: int = 0
    points_changed: int = 0
    points_cancelled: int = 0
    points_unchanged: int = 0
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": {
                "created": self.groups_created,
                "changed": self.groups_changed,
                "unchanged": self.groups_unchanged,
            },
            "points": {
                "created": self.points_created,
                "changed": self.points_changed,
                "cancelled": self.points_cancelled,
                "unchanged": self.points_unchanged,
            },
            "dry_run": self.dry_run,
        }


def stock_import(
    *,
    actor: User,
    data: bytes,
    now: dt.datetime,
    dry_run: bool = False,
    progress: Progress = _no_progress,
) -> StockResult:
    """Read, check and apply a checked workbook; every problem is reported, nothing is kept
    unless the whole workbook goes in. A dry run checks and counts, then rolls back."""
    require(user=actor, action=Action.IMPORT_STOCK)
    names = sheet_names(data, max_rows=MAX_ROWS)
    missing = [name for name in (GROUP_SHEET, POINT_SHEET) if name not in names]
    if missing:
        raise UnableToImportStock(
            [
                _("不是系统导出的核查清单：缺少工作表 %(sheets)s。")
                % {"sheets": "、".join(f"“{name}”" for name in missing)}
            ]
        )
    progress(0, 0, _("读取基准户核查清单"))
    groups, group_problems = _read_groups(data, progress)
    progress(0, 0, _("读取虚拟子户清单"))
    points, point_problems = _read_points(data, progress)
    problems = group_problems + point_problems
    progress(0, 0, _("核对档案"))
    reference_problems, known = _check_references(actor=actor, groups=groups, points=points)
    problems += reference_problems
    if problems:
        raise UnableToImportStock(problems)
    progress(0, len(groups), _("写入档案（完成后一次生效）"))
    result = StockResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            _apply(actor=actor, groups=groups, points=points, known=known, now=now, result=result,
                   progress=progress)  # fmt: skip
            if result.errors:
                raise UnableToImportStock(result.errors)
            if dry_run:
                raise _DryRunDone
    except _DryRunDone:
        pass
    return result


class _DryRunDone(Exception):
    pass


def _apply(
    *,
    actor: User,
    groups: list[GroupRow],
    points: list[PointRow],
    known: dict[str, Any],
    now: dt.datetime,
    result: StockResult,
    progress: Progress,
) -> None:
    reason = _("存量核查清单导入")
    existing: dict[str, Point] = known["existing"]
    by_base: dict[str, list[PointRow]] = defaultdict(list)
    for point_row in points:
        by_base[point_row.base_account_number].append(point_row)
    customers: dict[tuple[int, str], Customer] = {
        (customer.unit_id, customer.name): customer
        for customer in Customer.objects.filter(
            unit__code__in={row.unit_code for row in groups},
            name__in={row.customer for row in groups},
        )
    }
    # Groups new to refmeter (all of them, when a utility goes live) are registered as one
    # set; those it already holds get their differences through the services, one by one.
    fresh = [row for row in groups if row.account_number not in existing]
    for row in fresh:
        unit = known["units"][row.unit_code]
        if (unit.pk, row.customer) not in customers:
            try:
                customers[(unit.pk, row.customer)] = customer_create(
                    actor=actor, unit=unit, name=row.customer, created_date=row.created_date,
                    now=now,
                )  # fmt: skip
            except UnableToChangeRegistry as error:
                result.errors.extend(_where(row) + problem for problem in error.problems)
    if result.errors:
        return
    _apply_new_groups(
        actor=actor, rows=fresh, by_base=by_base, known=known, customers=customers, now=now,
        result=result, reason=reason,
    )  # fmt: skip
    progress(len(fresh), len(groups), _("写入档案（完成后一次生效）"))
    held = [row for row in groups if row.account_number in existing]
    for index, row in enumerate(held, start=len(fresh) + 1):
        try:
            with transaction.atomic():
                _apply_group(
                    actor=actor, row=row, point_rows=by_base.get(row.account_number, []),
                    known=known, existing=existing, now=now,
                    result=result, reason=reason,
                )  # fmt: skip
        except UnableToChangeRegistry as error:
            result.errors.extend(_where(row) + problem for problem in error.problems)
        if index % 100 == 0:
            progress(index, len(groups), _("写入档案（完成后一次生效）"))


def _point_input(item: PointRow) -> PointInput:
    """A sub-account of the list as the registry takes it."""
    return PointInput(
        name=item.name,
        device_address=item.address,
        nearby_number=item.nearby_number,
        access_point_number=item.access_point_number,
        account_number=item.account_number,
        active_from_date=item.active_from_date,
    )


def _where(row: GroupRow) -> str:
    return _("%(sheet)s 第 %(row)d 行（基准户 %(number)s）：") % {
        "sheet": GROUP_SHEET,
        "row": row.row,
        "number": row.account_number,
    }


def _apply_new_groups(
    *,
    actor: User,
    rows: list[GroupRow],
    by_base: dict[str, list[PointRow]],
    known: dict[str, Any],
    customers: dict[tuple[int, str], Customer],
    now: dt.datetime,
    result: StockResult,
    reason: str,
) -> None:
    if not rows:
        return
    specs = []
    for row in rows:
        unit: SupplyUnit = known["units"][row.unit_code]
        point_rows = by_base.get(row.account_number, [])
        specs.append(
            NewGroup(
                unit=unit,
                customer=customers[(unit.pk, row.customer)],
                device_type=known["device_types"][row.device_type],
                meter_asset_number=row.meter_asset_number,
                meter_barcode=row.meter_barcode,
                meter_box_resource_number=row.meter_box_resource_number,
                ct_ratio=row.ct_ratio,
                tariff_code=row.tariff_code,
                meter_install_date=row.created_date,
                created_date=row.created_date,
                base=PointInput(
                    name=row.name,
                    device_address=row.address,
                    access_point_number=row.access_point_number,
                    account_number=row.account_number,
                    active_from_date=row.created_date,
                ),
                points=[_point_input(item) for item in point_rows],
                stopped={
                    item.account_number: item.active_to_date
                    for item in point_rows
                    if item.cancelled and item.active_to_date
                },
            )
        )
    try:
        groups_load(actor=actor, groups=specs, now=now, reason=reason, places=known["places"])
    except UnableToLoadGroups as error:
        for index, problems in sorted(error.by_group.items()):
            result.errors.extend(_where(rows[index]) + problem for problem in problems)
        return
    result.groups_created += len(rows)
    result.points_created += sum(len(spec.points) for spec in specs)


def _apply_group(
    *,
    actor: User,
    row: GroupRow,
    point_rows: list[PointRow],
    known: dict[str, Any],
    existing: dict[str, Point],
    now: dt.datetime,
    result: StockResult,
    reason: str,
) -> None:
    """A group refmeter already holds: the differences the list states."""
    place: AccessPoint = known["places"][row.access_point_number]
    base = existing[row.account_number]
    group = base.group
    changed = False
    values = {
        "meter_asset_number": row.meter_asset_number,
        "meter_barcode": row.meter_barcode,
        "meter_box_resource_number": row.meter_box_resource_number,
        "ct_ratio": row.ct_ratio,
        "tariff_code": row.tariff_code,
    }
    differing = {key: value for key, value in values.items() if getattr(group, key) != value}
    if differing:
        # A checked list states what holds now: a new CT ratio or tariff from today on.
        group_update(
            actor=actor, group_id=group.pk, now=now, reason=reason,
            terms_from_date=timezone.localtime(now).date(), **differing,  # type: ignore[arg-type]
        )  # fmt: skip
        changed = True
    if (base.name, base.device_address, base.access_point_id) != (
        row.name, row.address, place.pk,
    ):  # fmt: skip
        point_update(
            actor=actor, point_id=base.pk, now=now, reason=reason, name=row.name,
            device_address=row.address, access_point_number=place.number,
        )  # fmt: skip
        changed = True
    if changed:
        result.groups_changed += 1
    else:
        result.groups_unchanged += 1
    group_points = {
        point.account_number: point
        for point in Point.objects.filter(group=group, kind=PointKind.SUB)
    }
    new_rows = [item for item in point_rows if item.account_number not in group_points]
    if new_rows:
        created = sub_accounts_add(
            actor=actor,
            group_id=group.pk,
            points=[_point_input(item) for item in new_rows],
            now=now,
            reason=reason,
        )
        result.points_created += len(created)
        by_number = {point.account_number: point for point in created}
        for item in new_rows:
            if item.cancelled and item.active_to_date:
                sub_account_cancel(
                    actor=actor, point_id=by_number[item.account_number].pk,
                    active_to_date=item.active_to_date, now=now, reason=reason,
                )  # fmt: skip
    places: dict[str, AccessPoint] = known["places"]
    for item in point_rows:
        point = group_points.get(item.account_number)
        if point is None:
            continue
        changed = False
        if (point.name, point.device_address, point.access_point_id) != (
            item.name, item.address, places[item.access_point_number].pk,
        ) and point.status != PointStatus.CANCELLED:  # fmt: skip
            point_update(
                actor=actor, point_id=point.pk, now=now, reason=reason, name=item.name,
                device_address=item.address, access_point_number=item.access_point_number,
            )  # fmt: skip
            changed = True
        if item.cancelled and point.status != PointStatus.CANCELLED and item.active_to_date:
            sub_account_cancel(
                actor=actor, point_id=point.pk, active_to_date=item.active_to_date, now=now,
                reason=reason,
            )  # fmt: skip
            result.points_cancelled += 1
        elif changed:
            result.points_changed += 1
        else:
            result.points_unchanged += 1
