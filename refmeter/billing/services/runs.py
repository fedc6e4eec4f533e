"""Billing runs: each supply unit bills and closes its own month.

For every stretch of the month with one CT ratio and one tariff:

    billed energy = round((R(end) - R(start)) x CT ratio x point-days / days, 0.01 kWh)

multiplied before dividing so that Decimal keeps the exact figure until the one rounding
(ROUND_HALF_UP). Time of use splits that billed figure: 尖, 峰 and 谷 are their registers
scaled the same way, 平 is the balance, so the four parts add up to the billed energy.
Money is priced per part and rounded to 0.01 yuan.

A run covers the groups of one unit. Recomputing an open month updates the same bills
(same number, same URL) and keeps the figures each replaced; a closed month is never
recomputed. Closing is its own action.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
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
    RunStatus,
    Tariff,
    TariffKind,
)
from refmeter.billing.services.base import (
    UnableToBill,
    energy,
    money,
    require_billing,
    require_billing_for_unit,
)
from refmeter.billing.services.tariffs import tariff_segments
from refmeter.common.periods import Period
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.readings.models import MeterReading
from refmeter.registry.models import (
    FinalBillRequest,
    Group,
    GroupStatus,
    GroupTerms,
    Point,
    PointKind,
)
from refmeter.registry.selectors import multiplier_spans

TIME_OF_USE_PARTS = ("sharp", "peak", "valley")  # read from registers; flat is the balance
ALL_PARTS = ("sharp", "peak", "flat", "valley")

Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    return None


# ---------------------------------------------------------------- the period


def billing_period_parse(*, text: str, today: dt.date) -> Period:
    """The month named ``YYYY-MM``, if it can be billed: it has ended (its last day is
    before ``today``) and it is not before the system's first reading."""
    text = (text or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if not match:
        raise UnableToBill(
            _("账期“%(text)s”格式不正确，应为 YYYY-MM，例如 2026-10。") % {"text": text[:20]}
        )
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise UnableToBill(_("账期“%(text)s”的月份应在 01 到 12 之间。") % {"text": text})
    if year < 1900:
        raise UnableToBill(_("账期“%(text)s”的年份不正确。") % {"text": text})
    period = Period.month(year, month)
    label = f"{period.start_date:%Y-%m}"
    if period.end_date > today:
        raise UnableToBill(
            _("%(period)s 尚未结束：只能为已经结束的月份出账（月末须早于今天）。")
            % {"period": label}
        )
    first = MeterReading.objects.aggregate(first=Min("reading_date"))["first"]
    if first is None:
        raise UnableToBill(_("系统中还没有任何日冻结读数，无法出账。"))
    if period.end_date <= first:
        raise UnableToBill(
            _("%(period)s 早于系统的第一条日冻结读数（%(first)s），无法出账。")
            % {"period": label, "first": first.isoformat()}
        )
    return period


# ---------------------------------------------------------------- results


@dataclass
class RunResult:
    run_id: int
    unit: str
    period: str
    status: str
    bills: int
    total_energy: Decimal
    total_amount: Decimal
    unchanged: bool = False
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def unbilled(self) -> int:
        return len(self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "unit": self.unit,
            "period": self.period,
            "status": self.status,
            "bills": self.bills,
            "unbilled": self.unbilled,
            "total_energy": str(self.total_energy),
            "total_amount": str(self.total_amount),
            "unchanged": self.unchanged,
            "problems": self.problems,
        }


def _summary(run: BillingRun, *, unchanged: bool) -> RunResult:
    bills = list(
        run.bills.filter(status=BillStatus.ISSUED).values_list("billed_energy", "total_amount")
    )
    return RunResult(
        run_id=run.pk,
        unit=run.unit.name,
        period=f"{run.period_start:%Y-%m}",
        status=run.status,
        bills=len(bills),
        total_energy=sum((row[0] for row in bills), Decimal(0)),
        total_amount=sum((row[1] for row in bills), Decimal(0)),
        unchanged=unchanged,
        problems=list(run.problems),
    )


# ---------------------------------------------------------------- compute and close


def _billing_units(*, actor: User | None, period: Period) -> list[SupplyUnit]:
    """The units whose groups the actor may bill and that have a group to bill this month."""
    groups = Group.objects.filter(created_date__lt=period.end_date).filter(
        Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=period.start_date)
    )
    if actor is not None:
        groups = groups.filter(unit_scope(user=actor))
    return list(SupplyUnit.objects.filter(pk__in=groups.values("unit_id")).order_by("path"))


def billing_run(
    *,
    actor: User | None,
    period: str,
    now: dt.datetime,
    progress: Progress = _no_progress,
) -> list[RunResult]:
    """Bill a month for every unit the actor may bill (``None``: the whole company), one
    run per unit. A unit whose month is closed is left as it is."""
    require_billing(actor)
    month = billing_period_parse(text=period, today=timezone.localtime(now).date())
    units = _billing_units(actor=actor, period=month)
    if not units:
        raise UnableToBill(
            _("%(period)s 您的单位没有需要出账的群组。") % {"period": f"{month.start_date:%Y-%m}"}
        )
    return [
        _unit_run(actor=actor, unit=unit, period=month, now=now, progress=progress)
        for unit in units
    ]


def _unit_run(
    *, actor: User | None, unit: SupplyUnit, period: Period, now: dt.datetime, progress: Progress
) -> RunResult:
    with transaction.atomic():
        run, _created = BillingRun.objects.get_or_create(
            unit=unit,
            period_start=period.start_date,
            defaults={"period_end": period.end_date, "computed_at": now, "computed_by": actor},
        )
        # One computation or close of a unit's month at a time.
        run = BillingRun.objects.select_for_update().select_related("unit").get(pk=run.pk)
        if run.status == RunStatus.CLOSED:
            return _summary(run, unchanged=True)
        run.computed_at = now
        run.computed_by = actor
        run.problems = _compute_bills(
            run=run, period=period, actor=actor, now=now, progress=progress
        )
        run.save(update_fields=["computed_at", "computed_by", "problems"])
        result = _summary(run, unchanged=False)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="billing.run",
                subject_type="billing_run",
                subject_id=run.pk,
                subject_label=f"{unit.name} {run.period_start:%Y-%m}",
                after={"status": run.status, "bills": result.bills, "unbilled": result.unbilled},
            ),
        )
    return result


class UnableToCloseMonth(UnableToBill):
    pass


def billing_run_close(
    *, actor: User | None, run_id: int, now: dt.datetime, allow_unbilled: bool = False
) -> RunResult:
    """Close a unit's month: its bills are final; corrections are back-billings from then on.
    Refused while a group is unbilled unless ``allow_unbilled``."""
    require_billing(actor)
    with transaction.atomic():
        run = (
            BillingRun.objects.select_for_update(of=("self",))
            .select_related("unit")
            .filter(pk=run_id)
            .first()
        )
        if run is None or (actor is not None and not unit_is_visible(user=actor, unit=run.unit)):
            raise UnableToCloseMonth(_("没有这个账期，或它不属于您的单位。"))
        require_billing_for_unit(actor, run.unit)
        label = f"{run.unit.name} {run.period_start:%Y-%m}"
        if run.status == RunStatus.CLOSED:
            raise UnableToCloseMonth(_("%(run)s 已经关账。") % {"run": label})
        if run.problems and not allow_unbilled:
            raise UnableToCloseMonth(
                _("%(run)s 还有 %(count)d 户未出账，不能关账：请先处理，或确认允许未出账户关账。")
                % {"run": label, "count": len(run.problems)}
            )
        run.status = RunStatus.CLOSED
        run.closed_at = now
        run.closed_by = actor
        run.save(update_fields=["status", "closed_at", "closed_by"])
        FinalBillRequest.objects.filter(
            group__bills__run=run,
            group__bills__kind=BillKind.FINAL,
            group__bills__status=BillStatus.ISSUED,
            billed_at__isnull=True,
        ).update(billed_at=now)
        result = _summary(run, unchanged=False)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="billing.close",
                subject_type="billing_run",
                subject_id=run.pk,
                subject_label=label,
                before={"status": RunStatus.OPEN},
                after={
                    "status": RunStatus.CLOSED,
                    "bills": result.bills,
                    "unbilled": result.unbilled,
                },
            ),
        )
    return result


# ---------------------------------------------------------------- the bills of a run


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


def _terms_by_group(groups: list[Group]) -> dict[int, list[tuple[dt.date, int, str]]]:
    terms: dict[int, list[tuple[dt.date, int, str]]] = defaultdict(list)
    for row in GroupTerms.objects.filter(group_id__in=[g.pk for g in groups]).order_by(
        "group_id", "from_date"
    ):
        terms[row.group_id].append((row.from_date, row.ct_ratio, row.tariff_code))
    for group in groups:
        # A group without history has had its current values since it was created.
        terms.setdefault(group.pk, [(group.created_date, group.ct_ratio, group.tariff_code)])
    return terms


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
    for index, (from_date, ct_ratio, code) in enumerate(terms):
        until = terms[index + 1][0] if index + 1 < len(terms) else end
        # The first terms row also covers days before it (a group created before its row).
        a = start if index == 0 else max(start, from_date)
        b = min(end, until)
        if a >= b:
            continue
        pieces = tariff_segments(tariffs.get(code, []), a, b)
        if pieces is None:
            raise NotBilled(
                ProblemReason.NO_TARIFF,
                _("%(account)s：电价代码“%(code)s”在 %(from)s 至 %(to)s 没有完整的电价，未出账。")
                % {"account": label, "code": code or "—", "from": a, "to": b},
            )
        stretches.extend(Stretch(x, y, ct_ratio, tariff) for x, y, tariff in pieces)
    return stretches


def _compute_bills(
    *, run: BillingRun, period: Period, actor: User | None, now: dt.datetime, progress: Progress
) -> list[dict[str, str]]:
    groups = list(
        Group.objects.filter(unit=run.unit, created_date__lt=period.end_date)
        .filter(Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=period.start_date))
        .select_related("customer")
        .order_by("pk")
    )
    group_ids = [group.pk for group in groups]
    terms = _terms_by_group(groups)
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
    for adjustment in BillAdjustment.objects.filter(group_id__in=group_ids).filter(
        Q(bill__isnull=True) | Q(bill__run=run)
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
