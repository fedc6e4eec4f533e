"""The bills of one unit's month, computed a chunk of groups at a time and written in bulk.

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
from typing import Any, NamedTuple

from django.db.models import Count, Q
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
from refmeter.billing.services.bill_detail import bill_detail_insert
from refmeter.billing.services.tariffs import tariff_segments
from refmeter.common.bulk import insert, update_rows
from refmeter.common.periods import Period
from refmeter.organisations.models import User
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group, GroupStatus, Point, PointKind
from refmeter.registry.selectors import counted_multiplier_spans, groups_terms_rows, terms_pieces

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


@dataclass(frozen=True)
class GroupRow:
    pk: int
    created_date: dt.date
    closed_date: dt.date | None
    meter_asset_number: str
    customer_name: str


class Frozen(NamedTuple):
    """A boundary day's frozen registers, as the bill needs them."""

    forward_total: Decimal
    sharp: Decimal | None
    peak: Decimal | None
    valley: Decimal | None


# Points held by one active period: (from, to, number of points).
Span = tuple[dt.date, dt.date | None, int]

# Groups computed and written together: memory stays that of one chunk, whatever the
# number of groups or points.
CHUNK_GROUPS = 2000


def bills_compute(
    *, run: BillingRun, period: Period, actor: User | None, now: dt.datetime, progress: Progress
) -> list[dict[str, str]]:
    """Compute and write the unit's bills of the month; the unbilled groups and why.

    The points are never read one by one: each group's points arrive counted by their
    active period, and the per-point detail is written by one INSERT ... SELECT a chunk."""
    group_ids = list(
        Group.objects.filter(unit=run.unit, created_date__lt=period.end_date)
        .filter(Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=period.start_date))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    tariffs: dict[str, list[Tariff]] = defaultdict(list)
    for tariff in Tariff.objects.filter(effective_from__lt=period.end_date):
        tariffs[tariff.code].append(tariff)
    # The month's bills so far, as numbers only: each chunk then reads its own by primary
    # key, and none at all on a first run. (A query by run and group, as the table fills
    # within this transaction, was planned on the empty table's statistics: a scan of
    # every bill written so far, once a chunk.)
    bill_ids: dict[int, int] = {}
    withdrawn: set[int] = set()
    for pk, group_id, status in run.bills.values_list("pk", "group_id", "status"):
        bill_ids[group_id] = pk
        if status == BillStatus.WITHDRAWN:
            withdrawn.add(group_id)
    # A bill of a group no longer billed this month at all is withdrawn first, so that
    # every issued bill of a chunk's range is one the chunk computes.
    billing = set(group_ids)
    gone = [
        pk
        for group_id, pk in bill_ids.items()
        if group_id not in billing and group_id not in withdrawn
    ]
    del billing, withdrawn
    if gone:
        _withdraw(list(Bill.objects.filter(pk__any_of=gone)), actor=actor, now=now)
    problems: list[dict[str, str]] = []
    for offset in range(0, len(group_ids), CHUNK_GROUPS):
        chunk = group_ids[offset : offset + CHUNK_GROUPS]
        problems.extend(
            _chunk_compute(
                run=run,
                period=period,
                group_ids=chunk,
                tariffs=tariffs,
                actor=actor,
                now=now,
                bill_ids=[bill_ids[pk] for pk in chunk if pk in bill_ids],
            )
        )
        progress(offset + len(chunk), len(group_ids))
    progress(len(group_ids), len(group_ids))
    return problems


def _chunk_compute(
    *,
    run: BillingRun,
    period: Period,
    group_ids: list[int],
    tariffs: dict[str, list[Tariff]],
    actor: User | None,
    now: dt.datetime,
    bill_ids: list[int],
) -> list[dict[str, str]]:
    groups = [
        GroupRow(*row)
        for row in Group.objects.filter(pk__any_of=group_ids)
        .order_by("pk")
        .values_list("pk", "created_date", "closed_date", "meter_asset_number", "customer__name")
    ]
    terms = groups_terms_rows(group_ids=group_ids, before=period.end_date)
    boundaries = {period.start_date, period.end_date}
    boundaries |= {t.effective_from for items in tariffs.values() for t in items}
    boundaries |= {row[0] for rows in terms.values() for row in rows}
    boundaries |= {g.closed_date for g in groups if g.closed_date}
    boundaries |= {g.created_date for g in groups}
    boundaries = {day for day in boundaries if period.start_date <= day <= period.end_date}
    readings: dict[tuple[int, dt.date], Frozen] = {
        (group_id, day): Frozen(total, sharp, peak, valley)
        for group_id, day, total, sharp, peak, valley in MeterReading.objects.filter(
            group_id__any_of=group_ids, reading_date__in=sorted(boundaries)
        ).values_list("group_id", "reading_date", "forward_total", "sharp", "peak", "valley")
    }
    in_month = (
        Point.objects.filter(group_id__any_of=group_ids, active_from_date__lt=period.end_date)
        .filter(Q(active_to_date__isnull=True) | Q(active_to_date__gt=period.start_date))
        .order_by()
    )
    spans: dict[int, list[Span]] = defaultdict(list)
    for group_id, active_from, active_to, count in (
        in_month.values("group_id", "active_from_date", "active_to_date")
        .annotate(count=Count("pk"))
        .values_list("group_id", "active_from_date", "active_to_date", "count")
    ):
        spans[group_id].append((active_from, active_to, count))  # type: ignore[arg-type]
    bases: dict[int, str] = {}
    for group_id, account_number in (
        in_month.filter(kind=PointKind.BASE)
        .order_by("-account_number")
        .values_list("group_id", "account_number")
    ):
        bases[group_id] = account_number  # the lowest number wins, as in the list of points
    existing = (
        {bill.group_id: bill for bill in Bill.objects.filter(pk__any_of=bill_ids)}
        if bill_ids
        else {}
    )
    adjustments: dict[int, list[BillAdjustment]] = defaultdict(list)
    # An approved back-billing goes on the next bill issued: the month being billed when it
    # was approved (the month before) or a later one, never an older month that happens to
    # be recomputed. So this month takes those approved before the end of the next month.
    following = Period.month(period.end_date.year, period.end_date.month).end_date
    approved_before = timezone.make_aware(dt.datetime.combine(following, dt.time.min))
    for adjustment in BillAdjustment.objects.filter(group_id__any_of=group_ids).filter(
        Q(bill__isnull=True, created_at__lt=approved_before) | Q(bill__run=run)
    ):
        adjustments[adjustment.group_id].append(adjustment)

    problems: list[dict[str, str]] = []
    computed: list[Bill] = []
    known_stretches: dict[tuple[Any, ...], list[Stretch]] = {}
    for group in groups:
        label = bases.get(group.pk, group.meter_asset_number)
        try:
            bill = _bill_for(
                group=group, label=label, run=run, period=period, terms=terms[group.pk],
                tariffs=tariffs, readings=readings, spans=spans[group.pk],
                known_stretches=known_stretches,
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
                computed.append(bill)
    _write_bills(
        run=run, computed=computed, existing=existing, adjustments=adjustments, actor=actor,
        now=now, group_ids=group_ids,
    )  # fmt: skip
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
    computed: list[Bill],
    existing: dict[int, Bill],
    adjustments: dict[int, list[BillAdjustment]],
    actor: User | None,
    now: dt.datetime,
    group_ids: list[int],
) -> None:
    """New bills are created; a bill the month already has keeps its row, number and URL,
    and its replaced figures become a revision; a bill whose group is now unbilled is
    withdrawn (kept, marked, its adjustments released for the next bill)."""
    to_create: list[Bill] = []
    to_update: list[Bill] = []
    recomputed: list[Bill] = []
    revisions: list[BillRevision] = []
    billed_groups = set()
    for bill in computed:
        billed_groups.add(bill.group_id)
        old = existing.get(bill.group_id)
        if old is None:
            to_create.append(bill)
            continue
        bill.pk, bill.number, bill.revision = old.pk, old.number, old.revision
        recomputed.append(bill)
        if _figures(old) != _figures(bill):
            revisions.append(_revision(old, actor=actor, now=now))
            bill.revision = old.revision + 1
        elif old.customer_name == bill.customer_name:
            continue  # the same bill: its row stays as it is
        to_update.append(bill)
    _withdraw(
        [
            old
            for group_id, old in existing.items()
            if group_id not in billed_groups and old.status != BillStatus.WITHDRAWN
        ],
        actor=actor,
        now=now,
    )
    insert(Bill, to_create, key=("number",))
    update_rows(Bill, to_update, [*BILL_FIGURES, "revision", "customer_name"])
    BillRevision.objects.bulk_create(revisions, batch_size=2000)
    # A recomputed bill's detail is written again (a point's name or area may have changed
    # with the figures the same); a withdrawn bill keeps the detail it had.
    BillPoint.objects.filter(bill_id__any_of=[bill.pk for bill in recomputed]).delete()
    if computed:
        bill_detail_insert(run_id=run.pk, first_group=group_ids[0], last_group=group_ids[-1])
    for bill in computed:
        pending = [
            item.pk for item in adjustments.get(bill.group_id, []) if item.bill_id != bill.pk
        ]
        if pending:
            BillAdjustment.objects.filter(pk__in=pending).update(bill=bill)


def _withdraw(bills: list[Bill], *, actor: User | None, now: dt.datetime) -> None:
    """Bills whose group is unbilled now: kept, marked, their adjustments released."""
    if not bills:
        return
    revisions = [_revision(old, actor=actor, now=now) for old in bills]
    for old in bills:
        old.status = BillStatus.WITHDRAWN
        old.revision += 1
    update_rows(Bill, bills, [*BILL_FIGURES, "revision", "customer_name"])
    BillRevision.objects.bulk_create(revisions, batch_size=2000)
    BillAdjustment.objects.filter(bill__in=bills).update(bill=None)


def _revision(old: Bill, *, actor: User | None, now: dt.datetime) -> BillRevision:
    return BillRevision(
        bill=old, revision=old.revision, figures=_figures(old), replaced_at=now, replaced_by=actor
    )


def _new_bill(**values: Any) -> Bill:
    """``Bill(**values)`` by position, as Django builds the rows it reads: a third of the
    time, which counts at a bill a group."""
    fields = Bill._meta.concrete_fields
    return Bill(
        *(
            values[field.attname] if field.attname in values else field.get_default()
            for field in fields
        )
    )


def _span_days(piece: Period, spans: list[Span]) -> int:
    """Point-days of ``piece``: each active period's days in it times its points."""
    return sum(piece.overlap_days(start, end) * count for start, end, count in spans)


def _bill_for(
    *,
    group: GroupRow,
    label: str,
    run: BillingRun,
    period: Period,
    terms: list[tuple[dt.date, int, str]],
    tariffs: dict[str, list[Tariff]],
    readings: dict[tuple[int, dt.date], Frozen],
    spans: list[Span],
    known_stretches: dict[tuple[Any, ...], list[Stretch]],
) -> Bill | None:
    start = max(period.start_date, group.created_date)
    end = period.end_date
    final = group.closed_date is not None and group.closed_date <= period.end_date
    if group.closed_date is not None and final:
        end = min(end, group.closed_date)
    if start >= end:
        return None
    # Most groups of a unit share their terms and dates, so their stretches too.
    key = (tuple(terms), start, end)
    stretches = known_stretches.get(key)
    if stretches is None:
        stretches = _stretches(label=label, terms=terms, tariffs=tariffs, start=start, end=end)
        known_stretches[key] = stretches
    lines = [
        _stretch_line(stretch=stretch, group=group, label=label, readings=readings, spans=spans)
        for stretch in stretches
    ]
    first_reading = readings[(group.pk, stretches[0].start)]
    last_reading = readings[(group.pk, stretches[-1].end)]
    # The multiplier within the billed stretch.
    multiplier = [
        {
            "from": max(span.from_date, start).isoformat(),
            "to": min(span.to_date, end).isoformat() if span.to_date else end.isoformat(),
            "multiplier": span.multiplier,
        }
        for span in counted_multiplier_spans(spans)
        if (span.to_date is None or span.to_date > start) and span.from_date < end
    ]
    reference_total = sum((Decimal(line["reference_energy"]) for line in lines), Decimal(0))
    amount = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
    return _new_bill(
        run_id=run.pk,
        group_id=group.pk,
        number=f"DF{period.start_date:%Y%m}-{label}"[:24],
        kind=BillKind.FINAL if final else BillKind.REGULAR,
        base_account_number=label,
        customer_name=group.customer_name,
        tariff_code=stretches[-1].tariff.code,
        period_start=start,
        period_end=end,
        ct_ratio=stretches[-1].ct_ratio,
        reading_start=first_reading.forward_total,
        reading_end=last_reading.forward_total,
        reference_energy=reference_total,
        days=(end - start).days,
        point_days=sum(line["point_days"] for line in lines),
        multiplier_spans=multiplier,
        segments=lines,
        billed_energy=sum((Decimal(line["billed_energy"]) for line in lines), Decimal(0)),
        energy_amount=amount,
        total_amount=amount,
    )


def _stretch_line(
    *,
    stretch: Stretch,
    group: GroupRow,
    label: str,
    readings: dict[tuple[int, dt.date], Frozen],
    spans: list[Span],
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
    point_days = _span_days(Period(a, b), spans)
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
    first: Frozen,
    last: Frozen,
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
