"""Billing: a month's bills from readings, CT ratio, point-days and the tariff in force.

Group energy = reference-meter energy x CT ratio x point-days / days, computed for each
stretch of the period with one tariff, rounded to 0.01 kWh; money to 0.01 yuan,
ROUND_HALF_UP. A point added on the 20th of a 30-day month counts 11 point-days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.billing.models import (
    BackBilling,
    BackBillingMethod,
    BackBillingStatus,
    Bill,
    BillAdjustment,
    BillingRun,
    BillKind,
    BillPoint,
    RunStatus,
    Tariff,
    TariffKind,
)
from refmeter.common.periods import Period
from refmeter.organisations.models import Role, User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.readings.models import MeterReading
from refmeter.registry.models import FinalBillRequest, Group, GroupStatus, Point, PointKind
from refmeter.registry.selectors import multiplier_spans

CENT = Decimal("0.01")
REGISTERS = ("sharp", "peak", "flat", "valley")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def energy(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class UnableToBill(Exception):
    pass


def _require_billing(user: User | None) -> None:
    if user is None:
        return
    if not (user.is_superuser or user.role in (Role.BILLING, Role.ADMINISTRATOR)):
        raise ActionNotAllowed(_("只有电费人员可以执行此操作。"))


# ---------------------------------------------------------------- tariffs


def tariff_create(
    *,
    code: str,
    name: str,
    effective_from: dt.date,
    price: Decimal | None = None,
    time_of_use: dict[str, Decimal] | None = None,
) -> Tariff:
    if (price is None) == (time_of_use is None):
        raise UnableToBill(_("请填写单一电价，或四个分时电价。"))
    if price is not None and price <= 0:
        raise UnableToBill(_("电价必须大于 0。"))
    if time_of_use is not None and (
        set(time_of_use) != set(REGISTERS) or min(time_of_use.values()) <= 0
    ):
        raise UnableToBill(_("分时电价须有尖、峰、平、谷四个大于 0 的价格。"))
    return Tariff.objects.create(
        code=code,
        name=name,
        kind=TariffKind.SINGLE if price is not None else TariffKind.TIME_OF_USE,
        effective_from=effective_from,
        price=price,
        **{f"{key}_price": value for key, value in (time_of_use or {}).items()},
    )


def _tariff_segments(
    tariffs: list[Tariff], start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date, Tariff]] | None:
    """Split [start, end) where the tariff changes; None when a day has no tariff."""
    ordered = sorted(tariffs, key=lambda tariff: tariff.effective_from)
    segments = []
    for index, tariff in enumerate(ordered):
        until = ordered[index + 1].effective_from if index + 1 < len(ordered) else None
        a = max(start, tariff.effective_from)
        b = end if until is None else min(end, until)
        if a < b:
            segments.append((a, b, tariff))
    covered = sum((b - a).days for a, b, _tariff in segments)
    return segments if covered == (end - start).days else None


# ---------------------------------------------------------------- the run


@dataclass
class RunResult:
    period: str
    status: str
    bills: int
    total_energy: Decimal
    total_amount: Decimal
    unchanged: bool = False
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "status": self.status,
            "bills": self.bills,
            "total_energy": str(self.total_energy),
            "total_amount": str(self.total_amount),
            "unchanged": self.unchanged,
            "problems": self.problems,
        }


def _summary(run: BillingRun, unchanged: bool) -> RunResult:
    bills = list(run.bills.values_list("billed_energy", "total_amount"))
    return RunResult(
        period=f"{run.period_start:%Y-%m}",
        status=run.status,
        bills=len(bills),
        total_energy=sum((row[0] for row in bills), Decimal(0)),
        total_amount=sum((row[1] for row in bills), Decimal(0)),
        unchanged=unchanged,
        problems=list(run.problems),
    )


def billing_run(
    *,
    actor: User | None,
    year: int,
    month: int,
    now: dt.datetime,
    close: bool = False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> RunResult:
    """Bill every group for a month. A closed month is never recomputed."""
    _require_billing(actor)
    period = Period.month(year, month)
    existing = BillingRun.objects.filter(period_start=period.start_date).first()
    if existing is not None and existing.status == RunStatus.CLOSED:
        return _summary(existing, unchanged=True)
    with transaction.atomic():
        run, _created = BillingRun.objects.update_or_create(
            period_start=period.start_date,
            defaults={"period_end": period.end_date, "computed_at": now, "computed_by": actor},
        )
        run.bills.all().delete()
        problems = _compute_bills(run, period, progress)
        run.problems = problems
        if close:
            run.status = RunStatus.CLOSED
            run.closed_at = now
            FinalBillRequest.objects.filter(
                group__bills__run=run, group__bills__kind=BillKind.FINAL, billed_at__isnull=True
            ).update(billed_at=now)
        run.save()
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="billing.run",
                subject_type="billing_run",
                subject_id=run.pk,
                subject_label=f"{run.period_start:%Y-%m}",
                after={"status": run.status, "bills": run.bills.count()},
            ),
        )
    return _summary(run, unchanged=False)


def _compute_bills(
    run: BillingRun, period: Period, progress: Callable[[int, int], None]
) -> list[str]:
    groups = list(
        Group.objects.filter(created_date__lt=period.end_date)
        .filter(Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=period.start_date))
        .select_related("customer")
        .order_by("pk")
    )
    group_ids = [group.pk for group in groups]
    tariffs: dict[str, list[Tariff]] = defaultdict(list)
    for tariff in Tariff.objects.filter(effective_from__lt=period.end_date):
        tariffs[tariff.code].append(tariff)
    boundaries = {period.start_date, period.end_date}
    boundaries |= {t.effective_from for items in tariffs.values() for t in items}
    boundaries |= {g.closed_date for g in groups if g.closed_date}
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
    pending = defaultdict(list)
    for adjustment in BillAdjustment.objects.filter(group_id__in=group_ids, bill__isnull=True):
        pending[adjustment.group_id].append(adjustment)
    problems: list[str] = []
    bills: list[tuple[Bill, list[BillPoint], list[BillAdjustment]]] = []
    for index, group in enumerate(groups, start=1):
        bill, detail, problem = _bill_for(group, run, period, tariffs, readings, points[group.pk])
        if problem:
            problems.append(problem)
            continue
        if bill is None:
            continue
        adjustments = pending.get(group.pk, [])
        bill.adjustment_amount = sum((item.amount for item in adjustments), Decimal(0))
        bill.total_amount = bill.energy_amount + bill.adjustment_amount
        bills.append((bill, detail, adjustments))
        if index % 500 == 0:
            progress(index, len(groups))
    # Bills in bulk, then their per-point detail, then the adjustments they settle.
    for start in range(0, len(bills), 2000):
        chunk = bills[start : start + 2000]
        Bill.objects.bulk_create([bill for bill, _detail, _adjustments in chunk])
        detail_rows = []
        for bill, detail, adjustments in chunk:
            for item in detail:
                item.bill = bill
            detail_rows.extend(detail)
            if adjustments:
                BillAdjustment.objects.filter(pk__in=[item.pk for item in adjustments]).update(
                    bill=bill
                )
        BillPoint.objects.bulk_create(detail_rows, batch_size=5000)
    return problems


def _bill_for(
    group: Group,
    run: BillingRun,
    period: Period,
    tariffs: dict[str, list[Tariff]],
    readings: dict[tuple[int, dt.date], MeterReading],
    points: list[Point],
) -> tuple[Bill | None, list[BillPoint], str]:
    base = next((point for point in points if point.kind == PointKind.BASE), None)
    label = base.account_number if base else group.meter_asset_number
    start = max(period.start_date, group.created_date)
    end = period.end_date
    final = group.closed_date is not None and group.closed_date <= period.end_date
    if group.closed_date is not None and final:
        end = min(end, group.closed_date)
    if start >= end:
        return None, [], ""
    segments = _tariff_segments(tariffs.get(group.tariff_code, []), start, end)
    if segments is None:
        return (
            None,
            [],
            _("%(account)s：电价代码“%(code)s”在本期没有完整的电价。")
            % {
                "account": label,
                "code": group.tariff_code,
            },
        )
    lines = []
    billed_total = Decimal(0)
    amount_total = Decimal(0)
    point_days_total = 0
    for a, b, tariff in segments:
        first, last = readings.get((group.pk, a)), readings.get((group.pk, b))
        if first is None or last is None:
            missing = a if first is None else b
            return (
                None,
                [],
                _("%(account)s：缺少 %(day)s 的日冻结读数，未出账。")
                % {
                    "account": label,
                    "day": missing.isoformat(),
                },
            )
        days = (b - a).days
        piece = Period(a, b)
        point_days = sum(
            piece.overlap_days(point.active_from_date, point.active_to_date) for point in points
        )
        point_days_total += point_days
        reference = (last.forward_total - first.forward_total) * group.ct_ratio
        if tariff.kind == TariffKind.TIME_OF_USE:
            registers = {}
            for register in REGISTERS:
                start_value, end_value = getattr(first, register), getattr(last, register)
                if start_value is None or end_value is None:
                    return (
                        None,
                        [],
                        _("%(account)s：分时电价需要分时示数，%(day)s 的读数没有。")
                        % {
                            "account": label,
                            "day": a.isoformat(),
                        },
                    )
                registers[register] = energy(
                    (end_value - start_value) * group.ct_ratio * point_days / days
                )
            billed = sum(registers.values(), Decimal(0))
            amount = sum(
                (money(registers[r] * getattr(tariff, f"{r}_price")) for r in REGISTERS),
                Decimal(0),
            )
            prices = {r: str(getattr(tariff, f"{r}_price")) for r in REGISTERS}
            register_energy = {r: str(v) for r, v in registers.items()}
        else:
            billed = energy(reference * point_days / days)
            amount = money(billed * tariff.price)  # type: ignore[operator]
            prices = {"price": str(tariff.price)}
            register_energy = {}
        billed_total += billed
        amount_total += amount
        lines.append(
            {
                "from": a.isoformat(),
                "to": b.isoformat(),
                "days": days,
                "reading_start": str(first.forward_total),
                "reading_end": str(last.forward_total),
                "reference_energy": str(reference),
                "point_days": point_days,
                "billed_energy": str(billed),
                "tariff": tariff.code,
                "prices": prices,
                "registers": register_energy,
                "amount": str(amount),
            }
        )
    days_total = (end - start).days
    first_reading = readings[(group.pk, segments[0][0])]
    last_reading = readings[(group.pk, segments[-1][1])]
    reference_total = (last_reading.forward_total - first_reading.forward_total) * group.ct_ratio
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
    bill = Bill(
        run=run,
        group=group,
        kind=BillKind.FINAL if final else BillKind.REGULAR,
        base_account_number=label,
        customer_name=group.customer.name,
        tariff_code=group.tariff_code,
        period_start=start,
        period_end=end,
        ct_ratio=group.ct_ratio,
        reading_start=first_reading.forward_total,
        reading_end=last_reading.forward_total,
        reference_energy=reference_total,
        days=days_total,
        point_days=point_days_total,
        multiplier_spans=spans,
        segments=lines,
        billed_energy=billed_total,
        energy_amount=amount_total,
        total_amount=amount_total,
    )
    whole = Period(start, end)
    detail = [
        BillPoint(
            account_number=point.account_number,
            name=point.name,
            area_number=point.area.number if point.area else "",
            active_days=whole.overlap_days(point.active_from_date, point.active_to_date),
            energy=energy(
                reference_total
                * whole.overlap_days(point.active_from_date, point.active_to_date)
                / days_total
            ),
        )
        for point in points
        if whole.overlap_days(point.active_from_date, point.active_to_date)
    ]
    return bill, detail, ""


# ---------------------------------------------------------------- back-billing (退补)


def _reading(group: Group, day: dt.date) -> MeterReading:
    reading = MeterReading.objects.filter(group=group, reading_date=day).first()
    if reading is None:
        raise UnableToBill(_("缺少 %(day)s 的日冻结读数，无法计算。") % {"day": day.isoformat()})
    return reading


def _reference_energy(group: Group, start: dt.date, end: dt.date) -> Decimal:
    return (_reading(group, end).forward_total - _reading(group, start).forward_total) * (
        group.ct_ratio
    )


def _price_on(group: Group, day: dt.date) -> Decimal:
    tariff = (
        Tariff.objects.filter(code=group.tariff_code, effective_from__lte=day)
        .order_by("-effective_from")
        .first()
    )
    if tariff is None:
        raise UnableToBill(_("电价代码“%(code)s”没有电价。") % {"code": group.tariff_code})
    return tariff.price if tariff.kind == TariffKind.SINGLE else tariff.flat_price  # type: ignore[return-value]


def back_billing_compute(
    *,
    actor: User,
    group_id: int,
    method: str,
    period_start: dt.date,
    period_end: dt.date,
    now: dt.datetime,
    case_id: int | None = None,
    parameters: dict[str, Any] | None = None,
) -> BackBilling:
    """Compute a back-billing (or a refund, when negative) by one of the methods of the Supply
    Business Rules art. 80-81, keeping every step of the calculation."""
    from refmeter.organisations.selectors import unit_scope
    from refmeter.registry.selectors import group_point_days

    _require_billing(actor)
    parameters = dict(parameters or {})
    group = (
        Group.objects.filter(unit_scope(user=actor), pk=group_id)
        .select_related("device_type")
        .first()
    )
    if group is None:
        from refmeter.registry.selectors import RecordNotVisible

        raise RecordNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    if period_end <= period_start:
        raise UnableToBill(_("退补期间的结束日期必须晚于开始日期。"))
    days = (period_end - period_start).days
    point_days = group_point_days(group_id=group.pk, period=Period(period_start, period_end))
    recorded = energy(_reference_energy(group, period_start, period_end) * point_days / days)
    steps: list[dict[str, str]] = [
        {"step": _("退补期间"), "value": f"{period_start} — {period_end}（{days} 天）"},
        {"step": _("档案点·天（期间每天的综合倍率之和）"), "value": str(point_days)},
        {"step": _("已按读数结算的电量"), "value": f"{recorded} kWh"},
    ]
    if method == BackBillingMethod.OWN_HISTORY:
        baseline_end = dt.date.fromisoformat(
            parameters.get("baseline_end", period_start.isoformat())
        )
        baseline_start = dt.date.fromisoformat(
            parameters.get("baseline_start", (baseline_end - dt.timedelta(days=90)).isoformat())
        )
        baseline_days = (baseline_end - baseline_start).days
        if baseline_days <= 0:
            raise UnableToBill(_("正常月份的期间不正确。"))
        baseline = _reference_energy(group, baseline_start, baseline_end)
        daily = baseline / baseline_days
        correct = energy(daily * point_days)
        steps += [
            {
                "step": _("正常期间参考表电量"),
                "value": f"{baseline_start} — {baseline_end}：{baseline} kWh（{baseline_days} 天）",
            },
            {
                "step": _("正常日均单点电量"),
                "value": f"{baseline} ÷ {baseline_days} = {daily.quantize(Decimal('0.0001'))} kWh",
            },
            {"step": _("应结算电量 = 日均单点电量 × 点·天"), "value": f"{correct} kWh"},
        ]
        parameters.update(
            baseline_start=baseline_start.isoformat(), baseline_end=baseline_end.isoformat()
        )
    elif method == BackBillingMethod.PEERS:
        peers = (
            Group.objects.filter(device_type=group.device_type, status=GroupStatus.RUNNING)
            .exclude(pk=group.pk)
            .exclude(anomaly_cases__status="open")
        )
        per_point = []
        for peer in peers:
            try:
                per_point.append(_reference_energy(peer, period_start, period_end) / days)
            except UnableToBill:
                continue
        if not per_point:
            raise UnableToBill(_("没有可比的正常群组（同设备类型、期间读数完整、无未结异常）。"))
        daily = sum(per_point, Decimal(0)) / len(per_point)
        correct = energy(daily * point_days)
        steps += [
            {"step": _("同类正常群组"), "value": _("%(count)d 个群组") % {"count": len(per_point)}},
            {
                "step": _("同类群组日均单点电量"),
                "value": f"{daily.quantize(Decimal('0.0001'))} kWh",
            },
            {"step": _("应结算电量 = 日均单点电量 × 点·天"), "value": f"{correct} kWh"},
        ]
    elif method == BackBillingMethod.RATED:
        watts = group.device_type.rated_watts
        hours = group.device_type.daily_operating_hours
        daily = watts * hours / 1000
        correct = energy(daily * point_days)
        steps += [
            {
                "step": _("单点日电量 = 额定功率 × 日运行小时 ÷ 1000"),
                "value": f"{watts} × {hours} ÷ 1000 = {daily} kWh",
            },
            {"step": _("应结算电量 = 单点日电量 × 点·天"), "value": f"{correct} kWh"},
        ]
    elif method == BackBillingMethod.MULTIPLIER:
        try:
            correct_points = int(parameters["correct_points"])
        except (KeyError, TypeError, ValueError) as error:
            raise UnableToBill(_("请填写现场核实的正确点数（含基准户）。")) from error
        if correct_points < 1:
            raise UnableToBill(_("正确点数至少为 1。"))
        reference = _reference_energy(group, period_start, period_end)
        correct_point_days = correct_points * days
        correct = energy(reference * correct_point_days / days)
        steps += [
            {"step": _("参考表电量"), "value": f"{reference} kWh"},
            {
                "step": _("正确倍率 × 天数"),
                "value": f"{correct_points} × {days} = {correct_point_days}",
            },
            {"step": _("应结算电量 = 参考表电量 × 正确点·天 ÷ 天数"), "value": f"{correct} kWh"},
        ]
    else:
        raise UnableToBill(_("未知的退补计算方法。"))
    difference = correct - recorded
    price = _price_on(group, period_end - dt.timedelta(days=1))
    amount = money(difference * price)
    steps += [
        {
            "step": _("退补电量 = 应结算电量 − 已结算电量"),
            "value": f"{correct} − {recorded} = {difference} kWh",
        },
        {"step": _("电价"), "value": f"{price} 元/kWh"},
        {
            "step": _("退补金额（正为追补，负为退还）"),
            "value": f"{difference} × {price} = {amount} 元",
        },
    ]
    with transaction.atomic():
        back_billing = BackBilling.objects.create(
            case_id=case_id,
            group=group,
            method=method,
            period_start=period_start,
            period_end=period_end,
            parameters=parameters,
            steps=steps,
            energy=difference,
            price=price,
            amount=amount,
            created_by=actor,
            created_at=now,
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="back_billing.compute",
                subject_type="group",
                subject_id=group.pk,
                subject_label=group.meter_asset_number,
                after={"method": method, "energy": str(difference), "amount": str(amount)},
            ),
        )
    return back_billing


def back_billing_approve(*, actor: User, back_billing_id: int, now: dt.datetime) -> BillAdjustment:
    """Billing staff approve; the amount is posted as an adjustment on the next bill."""
    _require_billing(actor)
    with transaction.atomic():
        item = BackBilling.objects.select_for_update().filter(pk=back_billing_id).first()
        if item is None:
            raise UnableToBill(_("未找到该退补记录。"))
        if item.status != BackBillingStatus.DRAFT:
            raise UnableToBill(_("该退补已经审批。"))
        if item.created_by_id == actor.pk and not actor.is_superuser:
            raise UnableToBill(_("退补须由计算人以外的电费人员审批。"))
        item.status = BackBillingStatus.APPROVED
        item.approved_by = actor
        item.approved_at = now
        item.save(update_fields=["status", "approved_by", "approved_at"])
        adjustment = BillAdjustment.objects.create(
            group=item.group,
            back_billing=item,
            description=_("退补：%(method)s，%(start)s — %(end)s")
            % {
                "method": item.get_method_display(),
                "start": item.period_start,
                "end": item.period_end,
            },
            energy=item.energy,
            amount=item.amount,
            created_at=now,
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="back_billing.approve",
                subject_type="group",
                subject_id=item.group_id,
                subject_label=item.group.meter_asset_number,
                after={"amount": str(item.amount)},
            ),
        )
    return adjustment
