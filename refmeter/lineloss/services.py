"""Loading each area's supply and sales from the line-loss system: all rows or none."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import column_letter, find_header
from refmeter.common.text import clean_digits, clean_text
from refmeter.lineloss.models import AreaEnergy
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import TransformerArea

COLUMNS: dict[str, tuple[str, ...]] = {
    "area": ("台区编号", "area_number"),
    "supply": ("供电量", "supply"),
    "sales": ("售电量", "sales"),
}
LABELS = {"area": "台区编号", "supply": "供电量", "sales": "售电量"}


class UnableToLoadAreaEnergy(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class AreaEnergyResult:
    created: int
    updated: int


def area_energy_load(
    *, actor: User | None, period_start: dt.date, rows: list[list[object]], now: dt.datetime
) -> AreaEnergyResult:
    """A month's supply and sales per area (supply may be blank: then not computable)."""
    if actor is not None:
        require(user=actor, action=Action.LOAD_AREA_ENERGY)
    header = find_header(rows, COLUMNS, {"area", "sales"})
    if header is None:
        raise UnableToLoadAreaEnergy([_("未找到表头：需要“台区编号”“供电量”“售电量”三列。")])
    index, columns = header
    areas = TransformerArea.objects.all()
    if actor is not None:
        areas = areas.filter(unit_scope(user=actor))
    known = dict(areas.values_list("number", "pk"))
    problems: list[str] = []
    values: dict[int, tuple[Decimal | None, Decimal]] = {}

    def where(row: int, key: str) -> str:
        return _("第 %(row)d 行 %(column)s 列（%(label)s）") % {
            "row": row, "column": column_letter(columns.get(key, 0)), "label": LABELS[key],
        }  # fmt: skip

    for row_number, row in enumerate(rows[index + 1 :], start=index + 2):
        if not any(clean_text(cell) for cell in row):
            continue
        cell = {
            key: (row[position] if position < len(row) else None)
            for key, position in columns.items()
        }
        number = clean_digits(cell["area"])
        if number not in known:
            problems.append(
                where(row_number, "area")
                + _("：台区 %(number)s 不存在或不属于您的单位。") % {"number": number}
            )
            continue
        parsed: dict[str, Decimal | None] = {}
        for key in ("supply", "sales"):
            text = clean_text(cell.get(key)).replace(",", "")
            if not text:
                parsed[key] = None
                continue
            try:
                parsed[key] = Decimal(text).quantize(Decimal("0.01"))
            except InvalidOperation:
                problems.append(
                    where(row_number, key) + _("：“%(value)s”不是数字。") % {"value": text}
                )
                parsed[key] = None
        if parsed["sales"] is None:
            problems.append(where(row_number, "sales") + _("：售电量不能为空。"))
            continue
        if known[number] in values:
            problems.append(
                where(row_number, "area") + _("：台区 %(number)s 重复。") % {"number": number}
            )
            continue
        values[known[number]] = (parsed["supply"], parsed["sales"])
    if problems:
        raise UnableToLoadAreaEnergy(problems)
    with transaction.atomic():
        existing = {
            row.area_id: row
            for row in AreaEnergy.objects.filter(
                period_start=period_start, area_id__in=list(values)
            )
        }
        created = 0
        for area_id, (supply, sales) in values.items():
            figure = existing.get(area_id)
            if figure is None:
                AreaEnergy.objects.create(
                    area_id=area_id, period_start=period_start, supply_kwh=supply, sales_kwh=sales,
                    imported_at=now,
                )  # fmt: skip
                created += 1
            else:
                figure.supply_kwh, figure.sales_kwh, figure.imported_at = supply, sales, now
                figure.save(update_fields=["supply_kwh", "sales_kwh", "imported_at"])
    return AreaEnergyResult(created=created, updated=len(values) - created)
