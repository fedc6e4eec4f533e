"""The billing computation as it was before the set-based one (one Point object and one
BillPoint object a point), kept only as the reference that test_set_based_billing.py
compares the set-based computation with. Nothing in refmeter imports it.

Its own description:

The bills of one unit's month, computed in memory and written in bulk.

For every stretch of the month with one CT ratio and one tariff:

    billed energy = round((R(end) - R(start)) x CT ratio x point-days / days, 0.01 kWh)

multiplied before dividing so that Decimal keeps the exact figure until the one rounding
(ROUND_HALF_UP). Time of use splits that billed figure: 尖, 峰 and 谷 are their registers
scaled the same way, 平 is the balance, so the four parts add up to the billed energy.
Money is priced per part and rounded to 0.01 yuan.

Recomputing updates the same bills (same number, same URL) and keeps the figures each
replaced as a revision.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.billing.models import (
    BILL_FIGURES,
    Bill,
    BillAdjustment,
    BillingRun,
    BillKind,
    BillPoint,
    BillRevision,
    BillStatus,
    ProblemReason,
    Tariff,
    TariffKind,
)
from refmeter.billing.services.base import energy, money
from refmeter.billing.services.tariffs import tariff_segments
from refmeter.common.periods import Period
from refmeter.organisations.models import User
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group, GroupStatus, Point, PointKind
from refmeter.registry.selectors import groups_terms_rows, multiplier_spans, terms_pieces

TIME_OF_USE_PARTS = ("sharp", "peak", "valley")  # read from registers; flat is the balance
ALL_PARTS = ("sharp", "peak", "flat", "valley")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Stretch:
    """Part of the billed stretch with one CT ratio and one tariff."""

    start: dt.date
    end: dt.date
    ct_ratio: int
    tariff: Tariff


class NotBilled(Exception):
    def __init__(self, reason: ProblemReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _stretches(
    *,
    label: str,
    terms: list[tuple[dt.date, int, str]],
    tariffs: dict[str, list[Tariff]],
    start: dt.date,
    end: dt.date,
) -> list[Stretch]:
    """Split [start, end) where the CT ratio, the tariff code or its price changes."""
    stretches: list[Stretch] = []
    for piece in terms_pieces(terms, start, end):
        a, b, code = piece.start_date, piece.end_date, piece.tariff_code
        prices = tariff_segments(tariffs.get(code, []), a, b)
        if prices is None:
            raise NotBilled(
                ProblemReason.NO_TARIFF,
                _("%(account)s：电价代码“%(code)s”在 %(from)s 至 %(to)s 没有完整的电价，未出账。")
                % {"account": label, "code": code or "—", "from": a, "to": b},
            )
        stretches.extend(Stretch(x, y, piece.ct_ratio, tariff) for x, y, tariff in prices)
    return stretches


def bills_compute(
    *, run: BillingRun, period: Period, actor: User | None, now: dt.datetime, progress: Progress
) -> list[dict[str, str]]:
    groups = list(
        Group.objects.filter(unit=run.unit, created_date__lt=period.end_date)
        .filter(Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=period.start_date))
        .select_related("customer")
        .order_by("pk")
    )
    group_ids = [group.pk for group in groups]
    terms = groups_terms_rows(group_ids=group_ids, before=period.end_date)
    tariffs: dict[str, list[Tariff]] = defaultdict(list)
    for tariff in Tariff.objects.filter(effective_from__lt=period.end_date):
        tariffs[tariff.code].append(tariff)
    boundaries = {period.start_date, period.end_date}
    boundaries |= {t.effective_from for items in tariffs.values() for t in items}
    boundaries |= {row[0] for rows in terms.values() for row in rows}
    boundaries |= {g.closed_date for g in groups if g.closed_date}
    boundaries |= {g.created_date for g in groups}
    boundaries = {day for day in boundaries if period.start_date <= day <= period.end_date}
    readings: dict[tuple[int, dt.date], MeterReading] = {
        (reading.group_id, reading.reading_date): reading
        for reading in MeterReading.objects.filter(
            group_id__in=group_ids, reading_date__in=sorted(boundaries)
        )
    }
    points: dict[int, list[Point]] = defaultdict(list)
    for point in (
        Point.objects.filter(group_id__in=group_ids, active_from_date__lt=period.end_date)
        .filter(Q(active_to_date__isnull=True) | Q(active_to_date__gt=period.start_date))
        .select_related("area")
        .order_by("account_number")
    ):
        points[point.group_id].append(point)
    existing = {bill.group_id: bill for bill in run.bills.all()}
    adjustments: dict[int, list[BillAdjustment]] = defaultdict(list)
    # An approved back-billing goes on the next bill issued: the month being billed when it
    # was approved (the month before) or a later one, never an older month that happens to
    # be recomputed. So this month takes those approved before the end of the next month.
    following = Period.month(period.end_date.year, period.end_date.month).end_date
    approved_before = timezone.make_aware(dt.datetime.combine(following, dt.time.min))
    for adjustment in BillAdjustment.objects.filter(group_id__in=group_ids).filter(
        Q(bill__isnull=True, created_at__lt=approved_before) | Q(bill__run=run)
    ):
        adjustments[adjustment.group_id].append(adjustment)

    problems: list[dict[str, str]] = []
    computed: list[tuple[Bill, list[BillPoint]]] = []
    for index, group in enumerate(groups, start=1):
        base = next((p for p in points[group.pk] if p.kind == PointKind.BASE), None)
        label = base.account_number if base else group.meter_asset_number
        try:
            bill, detail = _bill_for(
                group=group, label=label, run=run, period=period, terms=terms[group.pk],
                tariffs=tariffs, readings=readings, points=points[group.pk],
            )  # fmt: skip
        except NotBilled as refusal:
            problems.append(
                {"account_number": label, "reason": refusal.reason, "message": refusal.message}
            )
        else:
            if bill is not None:
                pending = adjustments.get(group.pk, [])
                bill.adjustment_amount = money(sum((item.amount for item in pending), Decimal(0)))
                bill.total_amount = bill.energy_amount + bill.adjustment_amount
                computed.append((bill, detail))
        if index % 500 == 0:
            progress(index, len(groups))
    _write_bills(
        run=run, computed=computed, existing=existing, adjustments=adjustments, actor=actor,
        now=now,
    )  # fmt: skip
    progress(len(groups), len(groups))
    return problems


def _figures(bill: Bill) -> dict[str, Any]:
    """A bill's figures as JSON values, to compare and to keep as a revision."""
    figures = {}
    for name in BILL_FIGURES:
        value = getattr(bill, name)
        if isinstance(value, Decimal):
            value = money(value)  # every figure has two places, whatever its arithmetic
        figures[name] = value if isinstance(value, (list, dict, int)) else str(value)
    return figures


def _write_bills(
    *,
    run: BillingRun,
    computed: list[tuple[Bill, list[BillPoint]]],
    existing: dict[int, Bill],
    adjustments: dict[int, list[BillAdjustment]],
    actor: User | None,
    now: dt.datetime,
) -> None:
    """New bills are created; a bill the month already has keeps its row, number and URL,
    and its replaced figures become a revision; a bill whose group is now unbilled is
    withdrawn (kept, marked, its adjustments released for the next bill)."""
    to_create: list[Bill] = []
    to_update: list[Bill] = []
    revisions: list[BillRevision] = []
    billed_groups = set()
    for bill, _detail in computed:
        billed_groups.add(bill.group_id)
        old = existing.get(bill.group_id)
        if old is None:
            to_create.append(bill)
            continue
        bill.pk, bill.number, bill.revision = old.pk, old.number, old.revision
        if _figures(old) != _figures(bill):
            revisions.append(_revision(old, actor=actor, now=now))
            bill.revision = old.revision + 1
        to_update.append(bill)
    withdrawn = []
    for group_id, old in existing.items():
        if group_id in billed_groups or old.status == BillStatus.WITHDRAWN:
            continue
        revisions.append(_revision(old, actor=actor, now=now))
        old.status = BillStatus.WITHDRAWN
        old.revision += 1
        withdrawn.append(old)
    Bill.objects.bulk_create(to_create, batch_size=2000)
    Bill.objects.bulk_update(
        to_update + withdrawn, [*BILL_FIGURES, "revision", "customer_name"], batch_size=2000
    )
    BillRevision.objects.bulk_create(revisions, batch_size=2000)
    if withdrawn:
        BillAdjustment.objects.filter(bill__in=withdrawn).update(bill=None)
    rewritten = [bill for bill, _detail in computed]
    BillPoint.objects.filter(bill__in=[bill.pk for bill in to_update]).delete()
    detail_rows = []
    for bill, detail in computed:
        for item in detail:
            item.bill = bill
        detail_rows.extend(detail)
    BillPoint.objects.bulk_create(detail_rows, batch_size=5000)
    for bill in rewritten:
        pending = [
            item.pk for item in adjustments.get(bill.group_id, []) if item.bill_id != bill.pk
        ]
        if pending:
            BillAdjustment.objects.filter(pk__in=pending).update(bill=bill)


def _revision(old: Bill, *, actor: User | None, now: dt.datetime) -> BillRevision:
    return BillRevision(
        bill=old, revision=old.revision, figures=_figures(old), replaced_at=now, replaced_by=actor
    )


def _bill_for(
    *,
    group: Group,
    label: str,
    run: BillingRun,
    period: Period,
    terms: list[tuple[dt.date, int, str]],
    tariffs: dict[str, list[Tariff]],
    readings: dict[tuple[int, dt.date], MeterReading],
    points: list[Point],
) -> tuple[Bill | None, list[BillPoint]]:
    start = max(period.start_date, group.created_date)
    end = period.end_date
    final = group.closed_date is not None and group.closed_date <= period.end_date
    if group.closed_date is not None and final:
        end = min(end, group.closed_date)
    if start >= end:
        return None, []
    stretches = _stretches(label=label, terms=terms, tariffs=tariffs, start=start, end=end)
    lines = [
        _stretch_line(stretch=stretch, group=group, label=label, readings=readings, points=points)
        for stretch in stretches
    ]
    first_reading = readings[(group.pk, stretches[0].start)]
    last_reading = readings[(group.pk, stretches[-1].end)]
    # The multiplier within the billed stretch, from the points already loaded.
    spans = [
        {
            "from": max(span.from_date, start).isoformat(),
            "to": min(span.to_date, end).isoformat() if span.to_date else end.isoformat(),
            "multiplier": span.multiplier,
        }
        for span in multiplier_spans(
            (point.active_from_date, point.active_to_date) for point in points
        )
        if (span.to_date is None or span.to_date > start) and span.from_date < end
    ]
    reference_total = sum((Decimal(line["reference_energy"]) for line in lines), Decimal(0))
    days_total = (end - start).days
    amount = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
    bill = Bill(
        run=run,
        group=group,
        number=f"DF{period.start_date:%Y%m}-{label}"[:24],
        kind=BillKind.FINAL if final else BillKind.REGULAR,
        base_account_number=label,
        customer_name=group.customer.name,
        tariff_code=stretches[-1].tariff.code,
        period_start=start,
        period_end=end,
        ct_ratio=stretches[-1].ct_ratio,
        reading_start=first_reading.forward_total,
        reading_end=last_reading.forward_total,
        reference_energy=reference_total,
        days=days_total,
        point_days=sum(line["point_days"] for line in lines),
        multiplier_spans=spans,
        segments=lines,
        billed_energy=sum((Decimal(line["billed_energy"]) for line in lines), Decimal(0)),
        energy_amount=amount,
        total_amount=amount,
    )
    whole = Period(start, end)
    detail = []
    for point in points:
        active_days = whole.overlap_days(point.active_from_date, point.active_to_date)
        if active_days:
            detail.append(
                BillPoint(
                    account_number=point.account_number,
                    name=point.name,
                    area_number=point.area.number if point.area else "",
                    active_days=active_days,
                    energy=energy(reference_total * active_days / days_total),
                )
            )
    return bill, detail


def _stretch_line(
    *,
    stretch: Stretch,
    group: Group,
    label: str,
    readings: dict[tuple[int, dt.date], MeterReading],
    points: list[Point],
) -> dict[str, Any]:
    a, b, ct_ratio, tariff = stretch.start, stretch.end, stretch.ct_ratio, stretch.tariff
    first, last = readings.get((group.pk, a)), readings.get((group.pk, b))
    if first is None or last is None:
        raise NotBilled(
            ProblemReason.MISSING_READING,
            _("%(account)s：缺少 %(day)s 的日冻结读数，未出账。")
            % {"account": label, "day": (a if first is None else b).isoformat()},
        )
    days = (b - a).days
    piece = Period(a, b)
    point_days = sum(piece.overlap_days(p.active_from_date, p.active_to_date) for p in points)
    total = last.forward_total - first.forward_total

    def scaled(register_energy: Decimal) -> Decimal:
        # Multiply first: the division is then the only inexact step before rounding.
        return energy(register_energy * ct_ratio * point_days / days)

    billed = scaled(total)
    if tariff.kind == TariffKind.TIME_OF_USE:
        parts = _time_of_use_parts(
            first=first, last=last, total=total, billed=billed, scaled=scaled, label=label, a=a,
            b=b,
        )  # fmt: skip
        amount = sum(
            (money(parts[r] * getattr(tariff, f"{r}_price")) for r in ALL_PARTS), Decimal(0)
        )
        prices = {r: str(getattr(tariff, f"{r}_price")) for r in ALL_PARTS}
        registers = {r: str(parts[r]) for r in ALL_PARTS}
    else:
        amount = money(billed * tariff.price)  # type: ignore[operator]
        prices = {"price": str(tariff.price)}
        registers = {}
    return {
        "from": a.isoformat(),
        "to": b.isoformat(),
        "days": days,
        "ct_ratio": ct_ratio,
        "reading_start": str(first.forward_total),
        "reading_end": str(last.forward_total),
        "reference_energy": str(total * ct_ratio),
        "point_days": point_days,
        "billed_energy": str(billed),
        "tariff": tariff.code,
        "prices": prices,
        "registers": registers,
        "amount": str(amount),
    }


def _time_of_use_parts(
    *,
    first: MeterReading,
    last: MeterReading,
    total: Decimal,
    billed: Decimal,
    scaled: Callable[[Decimal], Decimal],
    label: str,
    a: dt.date,
    b: dt.date,
) -> dict[str, Decimal]:
    """尖, 峰, 谷 from their registers and 平 as the balance of the billed energy.

    The registers are scaled cumulatively (尖, 尖+峰, 尖+峰+谷, each rounded once) so that
    no part is pushed below zero by rounding and the four parts add up exactly."""
    differences = {}
    for register in TIME_OF_USE_PARTS:
        start_value, end_value = getattr(first, register), getattr(last, register)
        if start_value is None or end_value is None:
            raise NotBilled(
                ProblemReason.NO_REGISTERS,
                _("%(account)s：分时电价需要尖、峰、谷示数，%(day)s 的读数没有，未出账。")
                % {"account": label, "day": (a if start_value is None else b).isoformat()},
            )
        differences[register] = end_value - start_value
    registered = sum(differences.values(), Decimal(0))
    if registered > total:
        raise NotBilled(
            ProblemReason.UNBALANCED,
            _(
                "%(account)s：%(from)s 至 %(to)s 尖峰谷示数之和 %(parts)s kWh 超过总示数 "
                "%(total)s kWh，示值不平，未出账。"
            )
            % {"account": label, "from": a, "to": b, "parts": registered, "total": total},
        )
    parts: dict[str, Decimal] = {}
    running, previous = Decimal(0), Decimal(0)
    for register in TIME_OF_USE_PARTS:
        running += differences[register]
        cumulative = scaled(running)
        parts[register] = cumulative - previous
        previous = cumulative
    parts["flat"] = billed - previous
    return parts
