"""Reading a checked workbook back: its rows, and the references between the sheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from refmeter.common.bulk import lookup_batches
from refmeter.common.spreadsheets import column_letter, find_header, iter_sheet_rows
from refmeter.common.text import clean_digits, clean_text, is_digits
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_is_visible, units_visible_to
from refmeter.registry.models import DeviceType, GroupStatus, Point, PointKind
from refmeter.registry.selectors import places_by_number
from refmeter.spreadsheets.stock.layout import (
    ACTIVE_WORD,
    CANCELLED_WORD,
    GROUP_COLUMNS,
    GROUP_REQUIRED,
    GROUP_SHEET,
    MAX_ROWS,
    POINT_COLUMNS,
    POINT_REQUIRED,
    POINT_SHEET,
    Progress,
)


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


def _at(sheet: str, row: int) -> str:
    # Named only when a row has a problem: a list of 100,000 rows has few.
    return _("%(sheet)s 第 %(row)d 行：") % {"sheet": sheet, "row": row}


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
    places = places_by_number(user=actor, numbers=place_numbers)
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
    numbers = [row.account_number for row in groups] + [row.account_number for row in points]
    existing_points = {
        point.account_number: point
        for batch in lookup_batches(numbers)
        for point in Point.objects.filter(account_number__any_of=batch).select_related(
            "group", "group__customer", "group__device_type", "group__unit"
        )
    }
    seen: set[str] = set()
    for point_row in points:
        if point_row.account_number in seen or point_row.account_number in listed_bases:
            problems.append(
                _at(POINT_SHEET, point_row.row)
                + _("户号 %(number)s 重复。") % {"number": point_row.account_number}
            )
        seen.add(point_row.account_number)
        if point_row.base_account_number not in listed_bases:
            problems.append(
                _at(POINT_SHEET, point_row.row)
                + _("基准户 %(number)s 不在“基准户核查清单”中。")
                % {"number": point_row.base_account_number}
            )
        if point_row.access_point_number not in places:
            problems.append(
                _at(POINT_SHEET, point_row.row)
                + _("接入点 %(number)s 不存在或不属于您的单位。")
                % {"number": point_row.access_point_number}
            )
        current = existing_points.get(point_row.account_number)
        base = existing_points.get(point_row.base_account_number)
        if current is not None and (base is None or current.group_id != base.group_id):
            problems.append(
                _at(POINT_SHEET, point_row.row)
                + _("户号 %(number)s 已属于另一个群组。") % {"number": point_row.account_number}
            )
        if point_row.active_to_date and point_row.active_to_date <= point_row.active_from_date:
            problems.append(_at(POINT_SHEET, point_row.row) + _("停用日期必须晚于接电日期。"))
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
