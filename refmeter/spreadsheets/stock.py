"""Stock customers (存量): the base-account check list out, checked in the field, back in.

The workbook has two sheets: 基准户核查清单 (one row per running group: unit, base
account, customer, address, creation date, meter barcode and asset number, meter box
resource number, access point, area, number of points...) and 虚拟子户清单 (one row per
point of those groups). Importing it back creates the groups that are new and applies
the differences to the others through the registry's audited services, all rows or
none.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from refmeter.common.spreadsheets import column_letter, find_header, iter_sheet_rows, sheet_names
from refmeter.common.text import clean_digits, clean_text, is_digits
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_is_visible, unit_scope, units_visible_to
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    DeviceType,
    Group,
    GroupStatus,
    Point,
    PointKind,
    PointStatus,
)
from refmeter.registry.selectors import active_on_filter
from refmeter.registry.services import (
    PointInput,
    UnableToChangeRegistry,
    customer_create,
    group_create,
    group_update,
    point_update,
    sub_account_cancel,
    sub_accounts_add,
)

GROUP_SHEET = "基准户核查清单"
POINT_SHEET = "虚拟子户清单"
MAX_ROWS = 300_000
ACTIVE_WORD = "在用"
CANCELLED_WORD = "已取消"

GROUP_COLUMNS: list[tuple[str, str]] = [
    ("unit_code", "供电单位编码"),
    ("unit_name", "供电单位"),
    ("customer", "客户名称"),
    ("account_number", "基准户户号"),
    ("name", "户名"),
    ("address", "地址"),
    ("created_date", "立户日期"),
    ("meter_barcode", "电能表条码"),
    ("meter_asset_number", "参考表资产编号"),
    ("meter_box_resource_number", "表箱资源编号"),
    ("ct_ratio", "互感器倍率"),
    ("tariff_code", "电价代码"),
    ("device_type", "设备类型"),
    ("access_point_number", "接入点编号"),
    ("access_point_name", "接入点名称"),
    ("area_number", "台区编号"),
    ("points", "参考点数"),
]
POINT_COLUMNS: list[tuple[str, str]] = [
    ("base_account_number", "基准户户号"),
    ("account_number", "户号"),
    ("name", "户名"),
    ("address", "设备地址"),
    ("nearby_number", "就近户号/局号"),
    ("access_point_number", "接入点编号"),
    ("access_point_name", "接入点名称"),
    ("area_number", "台区编号"),
    ("active_from_date", "接电日期"),
    ("active_to_date", "停用日期"),
    ("status", "状态"),
]
GROUP_REQUIRED = {
    "unit_code", "customer", "account_number", "name", "address", "created_date",
    "meter_asset_number", "device_type", "access_point_number",
}  # fmt: skip
POINT_REQUIRED = {
    "base_account_number", "account_number", "name", "address", "access_point_number",
    "active_from_date", "status",
}  # fmt: skip

Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, message: str) -> None:
    return None


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


class UnableToImportStock(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems[:50]))


@dataclass(frozen=True)
class GroupRow:
    row: int
    unit_code: str
    customer: str
    account_number: str
    name: str
    address: str
    created_date: dt.date
    meter_barcode: str
    meter_asset_number: str
    meter_box_resource_number: str
    ct_ratio: int
    tariff_code: str
    device_type: str
    access_point_number: str


@dataclass(frozen=True)
class PointRow:
    row: int
    base_account_number: str
    account_number: str
    name: str
    address: str
    nearby_number: str
    access_point_number: str
    active_from_date: dt.date
    active_to_date: dt.date | None
    cancelled: bool


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value).replace("/", "-").replace(".", "-")
    if not text:
        return None
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


class _Reader:
    """Turns one sheet's rows into checked records, collecting every problem."""

    def __init__(self, sheet: str, columns: list[tuple[str, str]], required: set[str]):
        self.sheet = sheet
        self.columns = columns
        self.required = required
        self.positions: dict[str, int] = {}
        self.problems: list[str] = []

    def header(self, rows: Iterator[list[object]]) -> int:
        head: list[list[object]] = []
        for row in rows:
            head.append(row)
            found = find_header(
                head[-2:], {key: (label,) for key, label in self.columns}, self.required
            )
            if found is not None:
                self.positions = found[1]
                return len(head)
            if len(head) >= 30:
                break
        labels = "、".join(label for key, label in self.columns if key in self.required)
        raise UnableToImportStock(
            [
                _("工作表“%(sheet)s”不是系统导出的核查清单：缺少这些列：%(labels)s。")
                % {"sheet": self.sheet, "labels": labels}
            ]
        )

    def cell(self, row: list[object], key: str) -> object:
        position = self.positions.get(key)
        return row[position] if position is not None and position < len(row) else None

    def problem(self, row_number: int, key: str, message: str) -> None:
        label = dict(self.columns)[key]
        self.problems.append(
            _("%(sheet)s 第 %(row)d 行 %(column)s 列（%(label)s）：%(message)s")
            % {
                "sheet": self.sheet,
                "row": row_number,
                "column": column_letter(self.positions.get(key, 0)),
                "label": label,
                "message": message,
            }
        )

    def digits(self, row_number: int, row: list[object], key: str, length: int) -> str:
        value = clean_digits(self.cell(row, key))
        if not is_digits(value, length):
            message = _("应为 %(length)d 位数字，而不是“%(value)s”。")
            self.problem(row_number, key, message % {"length": length, "value": value})
        return value

    def text(self, row_number: int, row: list[object], key: str) -> str:
        value = clean_text(self.cell(row, key))
        if not value and key in self.required:
            self.problem(row_number, key, _("不能为空。"))
        return value

    def date(self, row_number: int, row: list[object], key: str) -> dt.date | None:
        raw = self.cell(row, key)
        value = _as_date(raw)
        if value is None and (key in self.required or clean_text(raw)):
            self.problem(row_number, key, _("“%(value)s”不是日期。") % {"value": clean_text(raw)})
        return value


def _read_groups(data: bytes, progress: Progress) -> tuple[list[GroupRow], list[str]]:
    reader = _Reader(GROUP_SHEET, GROUP_COLUMNS, GROUP_REQUIRED)
    rows = iter_sheet_rows(data, sheet_name=GROUP_SHEET, max_rows=MAX_ROWS)
    start = reader.header(rows)
    records = []
    for row_number, row in enumerate(rows, start=start + 1):
        if not any(clean_text(value) for value in row):
            continue
        problems_before = len(reader.problems)
        ratio_text = clean_digits(reader.cell(row, "ct_ratio")) or "1"
        if not ratio_text.isdigit() or int(ratio_text) < 1:
            reader.problem(row_number, "ct_ratio", _("互感器倍率必须是正整数。"))
        record = GroupRow(
            row=row_number,
            unit_code=clean_digits(reader.cell(row, "unit_code")),
            customer=reader.text(row_number, row, "customer"),
            account_number=reader.digits(row_number, row, "account_number", 10),
            name=reader.text(row_number, row, "name"),
            address=reader.text(row_number, row, "address"),
            created_date=reader.date(row_number, row, "created_date") or dt.date.min,
            meter_barcode=clean_text(reader.cell(row, "meter_barcode")),
            meter_asset_number=clean_digits(reader.text(row_number, row, "meter_asset_number")),
            meter_box_resource_number=clean_text(reader.cell(row, "meter_box_resource_number")),
            ct_ratio=int(ratio_text) if ratio_text.isdigit() else 1,
            tariff_code=clean_text(reader.cell(row, "tariff_code")),
            device_type=reader.text(row_number, row, "device_type"),
            access_point_number=reader.digits(row_number, row, "access_point_number", 17),
        )
        if len(reader.problems) == problems_before:
            records.append(record)
        if row_number % 2000 == 0:
            progress(row_number, 0, _("读取基准户核查清单"))
    return records, reader.problems


def _read_points(data: bytes, progress: Progress) -> tuple[list[PointRow], list[str]]:
    reader = _Reader(POINT_SHEET, POINT_COLUMNS, POINT_REQUIRED)
    rows = iter_sheet_rows(data, sheet_name=POINT_SHEET, max_rows=MAX_ROWS)
    start = reader.header(rows)
    records = []
    for row_number, row in enumerate(rows, start=start + 1):
        if not any(clean_text(value) for value in row):
            continue
        problems_before = len(reader.problems)
        status = clean_text(reader.cell(row, "status"))
        if status not in (ACTIVE_WORD, CANCELLED_WORD):
            reader.problem(
                row_number, "status",
                _("状态应为“在用”或“已取消”，而不是“%(value)s”。") % {"value": status},
            )  # fmt: skip
        active_to = reader.date(row_number, row, "active_to_date")
        if status == CANCELLED_WORD and active_to is None:
            reader.problem(row_number, "active_to_date", _("已取消的点位须填写停用日期。"))
        record = PointRow(
            row=row_number,
            base_account_number=reader.digits(row_number, row, "base_account_number", 10),
            account_number=reader.digits(row_number, row, "account_number", 10),
            name=reader.text(row_number, row, "name"),
            address=reader.text(row_number, row, "address"),
            nearby_number=clean_digits(reader.cell(row, "nearby_number")),
            access_point_number=reader.digits(row_number, row, "access_point_number", 17),
            active_from_date=reader.date(row_number, row, "active_from_date") or dt.date.min,
            active_to_date=active_to,
            cancelled=status == CANCELLED_WORD,
        )
        if len(reader.problems) == problems_before:
            records.append(record)
        if row_number % 5000 == 0:
            progress(row_number, 0, _("读取虚拟子户清单"))
    return records, reader.problems


def _check_references(
    *, actor: User, groups: list[GroupRow], points: list[PointRow]
) -> tuple[list[str], dict[str, Any]]:
    """Everything the rows point at must exist and be the actor's to change."""
    problems: list[str] = []
    units = {unit.code: unit for unit in units_visible_to(user=actor)}
    device_types = {device.name: device for device in DeviceType.objects.all()}
    place_numbers = {row.access_point_number for row in groups} | {
        row.access_point_number for row in points
    }
    places = {
        place.number: place
        for place in AccessPoint.objects.filter(
            unit_scope(user=actor, unit_field="area__unit"), number__in=list(place_numbers)
        ).select_related("area")
    }
    listed_bases: dict[str, GroupRow] = {}
    for row in groups:
        where = _("%(sheet)s 第 %(row)d 行：") % {"sheet": GROUP_SHEET, "row": row.row}
        if row.account_number in listed_bases:
            problems.append(
                where + _("基准户户号 %(number)s 重复。") % {"number": row.account_number}
            )
        listed_bases[row.account_number] = row
        if row.unit_code not in units:
            problems.append(
                where
                + _("供电单位编码 %(code)s 不存在或不属于您的单位。") % {"code": row.unit_code}
            )
        if row.device_type not in device_types:
            problems.append(where + _("设备类型“%(name)s”未登记。") % {"name": row.device_type})
        if row.access_point_number not in places:
            problems.append(
                where
                + _("接入点 %(number)s 不存在或不属于您的单位。")
                % {"number": row.access_point_number}
            )
    existing_points = {
        point.account_number: point
        for point in Point.objects.filter(
            account_number__in=[row.account_number for row in groups]
            + [row.account_number for row in points]
        ).select_related("group", "group__customer", "group__device_type", "group__unit")
    }
    seen: set[str] = set()
    for point_row in points:
        where = _("%(sheet)s 第 %(row)d 行：") % {"sheet": POINT_SHEET, "row": point_row.row}
        if point_row.account_number in seen or point_row.account_number in listed_bases:
            problems.append(
                where + _("户号 %(number)s 重复。") % {"number": point_row.account_number}
            )
        seen.add(point_row.account_number)
        if point_row.base_account_number not in listed_bases:
            problems.append(
                where
                + _("基准户 %(number)s 不在“基准户核查清单”中。")
                % {"number": point_row.base_account_number}
            )
        if point_row.access_point_number not in places:
            problems.append(
                where
                + _("接入点 %(number)s 不存在或不属于您的单位。")
                % {"number": point_row.access_point_number}
            )
        current = existing_points.get(point_row.account_number)
        base = existing_points.get(point_row.base_account_number)
        if current is not None and (base is None or current.group_id != base.group_id):
            problems.append(
                where
                + _("户号 %(number)s 已属于另一个群组。") % {"number": point_row.account_number}
            )
        if point_row.active_to_date and point_row.active_to_date <= point_row.active_from_date:
            problems.append(where + _("停用日期必须晚于接电日期。"))
    for row in groups:
        current = existing_points.get(row.account_number)
        where = _("%(sheet)s 第 %(row)d 行：") % {"sheet": GROUP_SHEET, "row": row.row}
        if current is None:
            continue
        if current.kind != PointKind.BASE:
            problems.append(
                where
                + _("户号 %(number)s 是虚拟子户，不是基准户。") % {"number": row.account_number}
            )
            continue
        group = current.group
        if group.status != GroupStatus.RUNNING:
            problems.append(where + _("群组已销户。"))
        if not unit_is_visible(user=actor, unit=group.unit):
            problems.append(where + _("群组不属于您的单位。"))
        if group.customer.name != row.customer:
            problems.append(
                where
                + _("客户名称不能通过核查清单修改（系统中为“%(name)s”）。")
                % {"name": group.customer.name}
            )
        if group.device_type.name != row.device_type:
            problems.append(
                where
                + _("设备类型不能通过核查清单修改（系统中为“%(name)s”）。")
                % {"name": group.device_type.name}
            )
    return problems, {
        "units": units,
        "device_types": device_types,
        "places": places,
        "existing": existing_points,
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
    for index, row in enumerate(groups, start=1):
        try:
            with transaction.atomic():
                _apply_group(
                    actor=actor, row=row, point_rows=by_base.get(row.account_number, []),
                    known=known, existing=existing, customers=customers, now=now,
                    result=result, reason=reason,
                )  # fmt: skip
        except UnableToChangeRegistry as error:
            where = _("%(sheet)s 第 %(row)d 行（基准户 %(number)s）：") % {
                "sheet": GROUP_SHEET,
                "row": row.row,
                "number": row.account_number,
            }
            result.errors.extend(where + problem for problem in error.problems)
        if index % 100 == 0:
            progress(index, len(groups), _("写入档案（完成后一次生效）"))


def _apply_group(
    *,
    actor: User,
    row: GroupRow,
    point_rows: list[PointRow],
    known: dict[str, Any],
    existing: dict[str, Point],
    customers: dict[tuple[int, str], Customer],
    now: dt.datetime,
    result: StockResult,
    reason: str,
) -> None:
    unit: SupplyUnit = known["units"][row.unit_code]
    place: AccessPoint = known["places"][row.access_point_number]
    base = existing.get(row.account_number)
    if base is None:
        customer = customers.get((unit.pk, row.customer))
        if customer is None:
            customer = customer_create(
                actor=actor, unit=unit, name=row.customer, created_date=row.created_date, now=now
            )
            customers[(unit.pk, row.customer)] = customer
        group = group_create(
            actor=actor,
            unit=unit,
            customer=customer,
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
                access_point_number=place.number,
                account_number=row.account_number,
                active_from_date=row.created_date,
            ),
            now=now,
            reason=reason,
        )
        result.groups_created += 1
        group_points: dict[str, Point] = {}
    else:
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
            points=[
                PointInput(
                    name=item.name,
                    device_address=item.address,
                    nearby_number=item.nearby_number,
                    access_point_number=item.access_point_number,
                    account_number=item.account_number,
                    active_from_date=item.active_from_date,
                )
                for item in new_rows
            ],
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
