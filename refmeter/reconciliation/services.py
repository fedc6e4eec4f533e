"""Reconciliation with the marketing system before a billing run.

The marketing system's current list of reference-meter customers (户号, 综合倍率, 状态 在用 or
销户, one row per base account, title rows allowed above the header) is compared with
refmeter's groups on a day: base accounts missing on either side, multipliers that differ,
groups closed on one side only. A multiplier difference is shown with the monthly energy it
would misbill: the reference meter's energy per point of the last month before the day x the
difference (marketing's multiplier minus refmeter's; positive: refmeter bills less).

refmeter's side is one query; nothing is written. Accounts of the file that are base
accounts of units outside those compared are left out (another unit reconciles them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from refmeter.common.periods import Period
from refmeter.common.spreadsheets import Source, column_letter, find_header
from refmeter.common.table_files import CSV_SHEET, table_sheet
from refmeter.common.text import clean_digits, clean_text
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import units_visible_to
from refmeter.reconciliation.selectors import (
    base_accounts_among,
    energy_month,
    energy_per_point,
    refmeter_accounts,
)

HEADERS: dict[str, tuple[str, ...]] = {
    "account": ("户号", "基准户号"),
    "multiplier": ("综合倍率", "倍率"),
    "status": ("状态", "用户状态"),
}
COLUMN_NAMES = {"account": "户号", "multiplier": "综合倍率", "status": "状态"}
RUNNING, CLOSED = "在用", "销户"
STATUS_WORDS = {RUNNING: False, CLOSED: True, "正常": False, "已销户": True}
MAX_MULTIPLIER = 100_000

KINDS = {
    "missing_in_refmeter": gettext_lazy("营销系统有，本系统无"),
    "missing_in_marketing": gettext_lazy("本系统在用，营销系统无"),
    "multiplier": gettext_lazy("综合倍率不一致"),
    "closed_in_marketing": gettext_lazy("营销系统已销户，本系统在用"),
    "closed_in_refmeter": gettext_lazy("本系统已销户，营销系统在用"),
}


class UnableToReconcile(Exception):
    """The file cannot be compared; ``problems`` names each, by sheet, row and column."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class MarketingRow:
    account_number: str
    multiplier: int
    closed: bool
    row: int


@dataclass(frozen=True)
class Difference:
    account_number: str
    kind: str
    marketing_multiplier: int | None
    marketing_status: str | None
    refmeter_multiplier: int | None
    refmeter_status: str | None
    customer_name: str = ""
    unit_name: str = ""
    energy_per_point: Decimal | None = None
    misbilled_energy: Decimal | None = None

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])

    @property
    def multiplier_difference(self) -> int | None:
        if self.marketing_multiplier is None or self.refmeter_multiplier is None:
            return None
        return self.marketing_multiplier - self.refmeter_multiplier

    def as_dict(self) -> dict[str, Any]:
        def number(value: Decimal | None) -> str | None:
            return None if value is None else f"{value:.2f}"

        return {
            "account_number": self.account_number,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "customer": self.customer_name,
            "unit": self.unit_name,
            "marketing": {"multiplier": self.marketing_multiplier, "status": self.marketing_status},
            "refmeter": {"multiplier": self.refmeter_multiplier, "status": self.refmeter_status},
            "multiplier_difference": self.multiplier_difference,
            "energy_per_point_kwh": number(self.energy_per_point),
            "misbilled_energy_kwh": number(self.misbilled_energy),
        }


@dataclass(frozen=True)
class Reconciliation:
    as_of: dt.date
    energy_period: Period
    rows: int  # base accounts in the file
    compared: int  # of them, those compared (not of another unit)
    other_units: int
    differences: list[Difference] = field(default_factory=list)

    @property
    def agreed(self) -> int:
        return self.compared - sum(
            1 for item in self.differences if item.kind != "missing_in_marketing"
        )


def _where(sheet: str, row: int, column: str) -> str:
    if sheet == CSV_SHEET:
        return _("第 %(row)d 行“%(column)s”列") % {"row": row, "column": column}
    return _("工作表“%(sheet)s”第 %(row)d 行“%(column)s”列") % {
        "sheet": sheet,
        "row": row,
        "column": column,
    }


def marketing_rows(*, sheet_name: str, rows: list[list[object]]) -> list[MarketingRow]:
    """The list's rows, checked as a whole: every problem at once, or the rows."""
    header = find_header(rows, HEADERS, set(HEADERS))
    if header is None:
        raise UnableToReconcile(
            _("未找到表头：表格应包含“户号”“综合倍率”“状态”三列（表头上方可有标题行）。")
        )
    header_index, columns = header
    problems: list[str] = []
    parsed: dict[str, MarketingRow] = {}
    for number, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if all(clean_text(value) == "" for value in row):
            continue

        def cell(key: str, row: list[object] = row) -> object:
            position = columns[key]
            return row[position] if position < len(row) else None

        def where(key: str, number: int = number) -> str:
            column = f"{COLUMN_NAMES[key]}（{column_letter(columns[key])}）"
            return _where(sheet_name, number, column)

        account = clean_digits(cell("account"))
        multiplier_text = clean_digits(cell("multiplier"))
        status_text = clean_text(cell("status")).replace(" ", "")
        row_problems = []
        if not (len(account) == 10 and account.isascii() and account.isdigit()):
            row_problems.append(
                _("%(where)s：户号“%(value)s”应为 10 位数字。")
                % {"where": where("account"), "value": account[:20]}
            )
        elif account in parsed:
            row_problems.append(
                _("%(where)s：户号 %(value)s 与第 %(first)d 行重复。")
                % {"where": where("account"), "value": account, "first": parsed[account].row}
            )
        multiplier = 0
        if multiplier_text.isascii() and multiplier_text.isdigit():
            multiplier = int(multiplier_text)
        if not 1 <= multiplier <= MAX_MULTIPLIER:
            row_problems.append(
                _("%(where)s：综合倍率“%(value)s”应为 1 到 %(most)d 的整数。")
                % {
                    "where": where("multiplier"),
                    "value": multiplier_text[:20],
                    "most": MAX_MULTIPLIER,
                }
            )
        if status_text not in STATUS_WORDS:
            row_problems.append(
                _("%(where)s：状态“%(value)s”应为“在用”或“销户”。")
                % {"where": where("status"), "value": status_text[:20]}
            )
        if row_problems:
            problems += row_problems
            continue
        parsed[account] = MarketingRow(account, multiplier, STATUS_WORDS[status_text], number)
    if problems:
        raise UnableToReconcile(problems)
    return list(parsed.values())


def _status(closed: bool) -> str:
    return CLOSED if closed else RUNNING


def reconcile_report(
    file_or_rows: Source | list[list[object]],
    *,
    as_of: dt.date,
    units: Iterable[Any] | None = None,
) -> Reconciliation:
    """Compare the marketing system's list with refmeter's groups of ``units`` (None: all)
    on ``as_of``. Raises UnableToReconcile (or UnreadableSpreadsheet) for a bad file."""
    if isinstance(file_or_rows, list):
        sheet_name, rows = CSV_SHEET, file_or_rows
    else:
        sheet = table_sheet(file_or_rows)
        sheet_name, rows = sheet.name, sheet.rows
    listed = marketing_rows(sheet_name=sheet_name, rows=rows)
    ours = refmeter_accounts(as_of=as_of, units=units)
    unknown = [row.account_number for row in listed if row.account_number not in ours]
    elsewhere = base_accounts_among(unknown) if units is not None else set()
    differences: list[Difference] = []
    compared = 0
    multiplier_groups: dict[str, int] = {}
    for row in listed:
        mine = ours.get(row.account_number)
        if mine is None:
            if row.account_number in elsewhere:
                continue
            compared += 1
            if not row.closed:
                differences.append(
                    Difference(row.account_number, "missing_in_refmeter", row.multiplier,
                               RUNNING, None, None)
                )  # fmt: skip
            continue
        compared += 1
        kind = ""
        if row.closed and not mine.closed:
            kind = "closed_in_marketing"
        elif mine.closed and not row.closed:
            kind = "closed_in_refmeter"
        elif not row.closed and row.multiplier != mine.multiplier:
            kind = "multiplier"
            multiplier_groups[row.account_number] = mine.group_id
        if kind:
            differences.append(
                Difference(
                    row.account_number, kind, row.multiplier, _status(row.closed),
                    mine.multiplier, _status(mine.closed), mine.customer_name, mine.unit_name,
                )
            )  # fmt: skip
    in_file = {row.account_number for row in listed}
    for number, mine in sorted(ours.items()):
        if number not in in_file and not mine.closed:
            differences.append(
                Difference(number, "missing_in_marketing", None, None, mine.multiplier,
                           RUNNING, mine.customer_name, mine.unit_name)
            )  # fmt: skip
    period = energy_month(as_of)
    energy = energy_per_point(group_ids=multiplier_groups.values(), period=period)
    shown = []
    for item in differences:
        group_id = multiplier_groups.get(item.account_number)
        per_point = energy.get(group_id) if group_id is not None else None
        if per_point is not None and item.multiplier_difference is not None:
            item = replace(
                item, energy_per_point=per_point,
                misbilled_energy=per_point * item.multiplier_difference,
            )  # fmt: skip
        shown.append(item)
    shown.sort(key=lambda item: item.account_number)
    return Reconciliation(
        as_of=as_of,
        energy_period=period,
        rows=len(listed),
        compared=compared,
        other_units=len(listed) - compared,
        differences=shown,
    )


def reconcile(
    file_or_rows: Source | list[list[object]],
    as_of: dt.date,
    units: Iterable[Any] | None = None,
) -> list[Difference]:
    """The differences between the marketing system's list and refmeter (see the module);
    an empty list when the two agree."""
    return reconcile_report(file_or_rows, as_of=as_of, units=units).differences


def reconcile_for(
    *, user: User, file_or_rows: Source | list[list[object]], as_of: dt.date
) -> Reconciliation:
    """:func:`reconcile_report` as ``user``: their role must allow it, their units only."""
    require(user=user, action=Action.RECONCILE_MARKETING)
    return reconcile_report(file_or_rows, as_of=as_of, units=units_visible_to(user=user))
