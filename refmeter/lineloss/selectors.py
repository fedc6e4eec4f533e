"""Virtual energy per transformer area, and the line-loss report before and after it.

The virtual energy an area supplies to a group's sub-accounts in a period = the group's
per-point energy a day (reference-meter energy x CT ratio / days) x the point-days of
that group's virtual sub-accounts placed in the area. The base account is not counted:
the line-loss system's metered sales of its area already hold the reference meter's own
reading. Readings come in one query; point-days come from the placements (a point moved
mid-month counts in each area for its own days).

Loss rates are shown rounded to 0.01 %; classes and bands are decided on the exact rate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from refmeter.common.periods import Period
from refmeter.lineloss.models import AreaEnergy
from refmeter.readings.models import MeterReading
from refmeter.registry.models import PointKind, PointPlacement, TransformerArea
from refmeter.registry.selectors import groups_terms_rows, terms_pieces

CENT = Decimal("0.01")
BANDS = ((Decimal(20), "over_20"), (Decimal(15), "15_20"), (Decimal(10), "10_15"))
CLASS_LABELS = {
    "qualified": _("合格"), "high": _("高损"), "negative": _("负损"), "not_computable": _("不可算"),
}  # fmt: skip
BAND_LABELS = {"10_15": "10–15%", "15_20": "15–20%", "over_20": ">20%"}


def _energy(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _reference_energy_per_day(*, group_ids: set[int], period: Period) -> dict[int, Decimal]:
    """Each group's reference-meter energy of the period x CT ratio, per day. The CT ratio
    is effective-dated: the month is cut where it changes, as billing cuts it. A group
    missing a reading at a cut has no figure (its areas get no virtual energy from it)."""
    ratios = groups_terms_rows(group_ids=group_ids, before=period.end_date)
    cuts = {
        group_id: [
            (piece.start_date, piece.end_date, piece.ct_ratio)
            for piece in terms_pieces(rows, period.start_date, period.end_date)
        ]
        for group_id, rows in ratios.items()
    }
    days = {day for pieces in cuts.values() for a, b, _ratio in pieces for day in (a, b)}
    readings = {
        (group_id, day): value
        for group_id, day, value in MeterReading.objects.filter(
            group_id__in=group_ids, reading_date__in=sorted(days)
        ).values_list("group_id", "reading_date", "forward_total")
    }
    per_day: dict[int, Decimal] = {}
    for group_id, pieces in cuts.items():
        total = Decimal(0)
        for a, b, ratio in pieces:
            first, last = readings.get((group_id, a)), readings.get((group_id, b))
            if first is None or last is None:
                break
            total += (last - first) * ratio
        else:
            per_day[group_id] = total / period.days
    return per_day


@dataclass(frozen=True)
class AreaVirtual:
    area_id: int
    point_days: int
    energy: Decimal


def area_virtual_energy(
    *, period: Period, area_ids: list[int] | None = None
) -> dict[int, AreaVirtual]:
    placements = PointPlacement.objects.filter(
        point__kind=PointKind.SUB,
        from_date__lt=period.end_date,
        point__active_from_date__lt=period.end_date,
    ).filter(Q(to_date__isnull=True) | Q(to_date__gt=period.start_date))
    placements = placements.filter(
        Q(point__active_to_date__isnull=True) | Q(point__active_to_date__gt=period.start_date)
    )
    if area_ids is not None:
        placements = placements.filter(area_id__in=area_ids)
    days_by_group_area: dict[tuple[int, int], int] = defaultdict(int)
    for group_id, area_id, start, end, active_from, active_to in placements.values_list(
        "point__group_id", "area_id", "from_date", "to_date", "point__active_from_date",
        "point__active_to_date",
    ):  # fmt: skip
        since = max(start, active_from) if active_from else start
        ends = [day for day in (end, active_to) if day is not None]
        until = min(ends) if ends else None
        days = period.overlap_days(since, until)
        if days:
            days_by_group_area[(group_id, area_id)] += days
    group_ids = {group_id for group_id, _area in days_by_group_area}
    per_point_day = _reference_energy_per_day(group_ids=group_ids, period=period)
    totals: dict[int, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for (group_id, area_id), days in days_by_group_area.items():
        totals[area_id][0] += days
        if group_id in per_point_day:
            totals[area_id][1] += per_point_day[group_id] * days
    return {
        area_id: AreaVirtual(area_id, point_days, _energy(energy))
        for area_id, (point_days, energy) in totals.items()
    }


@dataclass(frozen=True)
class AreaLoss:
    area_id: int
    area_number: str
    area_name: str
    supply: Decimal | None
    sales: Decimal | None
    virtual: Decimal
    point_days: int
    loss_before: Decimal | None
    loss_after: Decimal | None
    class_before: str
    class_after: str
    band_after: str

    @property
    def class_before_label(self) -> str:
        return str(CLASS_LABELS[self.class_before])

    @property
    def class_after_label(self) -> str:
        band = BAND_LABELS.get(self.band_after, "")
        return f"{CLASS_LABELS[self.class_after]} {band}".strip()

    @property
    def moved(self) -> str:
        if self.class_before != "qualified" and self.class_after == "qualified":
            return "into_qualified"
        if self.class_before == "qualified" and self.class_after != "qualified":
            return "out_of_qualified"
        return ""


def _rate(supply: Decimal | None, sold: Decimal | None) -> Decimal | None:
    """The exact loss rate in percent: (supply - sold) / supply x 100, unrounded."""
    if supply is None or sold is None or supply <= 0:
        return None
    return (supply - sold) / supply * 100


def _shown(rate: Decimal | None) -> Decimal | None:
    """The rate as shown: to 0.01 %, half up (a rate just below zero shows as -0.00)."""
    return None if rate is None else rate.quantize(CENT, rounding=ROUND_HALF_UP)


def classify(rate: Decimal | None, threshold: Decimal) -> tuple[str, str]:
    """Class and high-loss band of an exact rate: negative below 0, high above the threshold,
    bands (10, 15], (15, 20] and above 20 percent; call it with the unrounded rate."""
    if rate is None:
        return "not_computable", ""
    if rate < 0:
        return "negative", ""
    if rate > threshold:
        band = next((name for bound, name in BANDS if rate > bound), "")
        return "high", band
    return "qualified", ""


def lineloss_report(*, period: Period, unit_filter: Q | None = None) -> list[AreaLoss]:
    """Every area with supply figures or virtual energy in the period."""
    threshold = Decimal(str(settings.REFMETER_HIGH_LOSS_PERCENT))
    areas = TransformerArea.objects.all()
    if unit_filter is not None:
        areas = areas.filter(unit_filter)
    area_map = {area.pk: area for area in areas}
    virtual = area_virtual_energy(period=period, area_ids=list(area_map))
    figures = {
        row.area_id: row
        for row in AreaEnergy.objects.filter(
            period_start=period.start_date, area_id__in=list(area_map)
        )
    }
    report = []
    for area_id in sorted(set(virtual) | set(figures), key=lambda pk: area_map[pk].number):
        area = area_map[area_id]
        figure = figures.get(area_id)
        supply = figure.supply_kwh if figure else None
        sales = figure.sales_kwh if figure else None
        extra = virtual[area_id].energy if area_id in virtual else Decimal("0.00")
        before = _rate(supply, sales)
        after = _rate(supply, sales + extra if sales is not None else None)
        class_before, _band = classify(before, threshold)
        class_after, band = classify(after, threshold)
        report.append(
            AreaLoss(
                area_id=area_id, area_number=area.number, area_name=area.name, supply=supply,
                sales=sales, virtual=extra,
                point_days=virtual[area_id].point_days if area_id in virtual else 0,
                loss_before=_shown(before), loss_after=_shown(after), class_before=class_before,
                class_after=class_after, band_after=band,
            )
        )  # fmt: skip
    return report


def area_history(*, area_id: int, months: int, last: dt.date) -> list[dict[str, Any]]:
    """Loss before and after the virtual energy, month by month, for the area's chart."""
    series = []
    year, month = last.year, last.month
    periods = []
    for _index in range(months):
        periods.append(Period.month(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    for period in reversed(periods):
        rows = [row for row in lineloss_report(period=period, unit_filter=Q(pk=area_id))]
        row = rows[0] if rows else None
        series.append(
            {
                "month": f"{period.start_date:%Y-%m}",
                "before": float(row.loss_before) if row and row.loss_before is not None else None,
                "after": float(row.loss_after) if row and row.loss_after is not None else None,
                "virtual": float(row.virtual) if row else 0.0,
            }
        )
    return series


# ---------------------------------------------------------------- the report as a list

# The report's sortable columns: each a key of an area's row (the rates are the shown,
# rounded figures; equal ones keep the area number order).
REPORT_SORTS: dict[str, Any] = {
    "area": lambda row: row.area_number,
    "name": lambda row: row.area_name,
    "point_days": lambda row: row.point_days,
    "virtual": lambda row: row.virtual,
    "supply": lambda row: row.supply,
    "sales": lambda row: row.sales,
    "loss_before": lambda row: row.loss_before,
    "loss_after": lambda row: row.loss_after,
}


def lineloss_report_filter(
    rows: list[AreaLoss], *, area: str = "", loss_class: str = "", moved: str = ""
) -> list[AreaLoss]:
    """The areas whose number or name holds ``area``, of that class after the virtual
    energy, and that moved into or out of the qualified class."""
    needle = area.strip().upper()
    return [
        row
        for row in rows
        if (not needle or needle in row.area_number.upper() or needle in row.area_name.upper())
        and (not loss_class or row.class_after == loss_class)
        and (not moved or row.moved == moved)
    ]
