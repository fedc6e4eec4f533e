"""Back-billing (退补): energy and charges put right for a period by the methods of the
Supply Business Rules art. 80-81, every step kept, approved by a second billing user."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.billing.models import (
    BackBilling,
    BackBillingMethod,
    BackBillingStatus,
    BillAdjustment,
    Tariff,
    TariffKind,
)
from refmeter.billing.services.base import UnableToBill, energy, money, require_billing
from refmeter.common.periods import Period
from refmeter.organisations.models import User
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group, GroupStatus


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

    require_billing(actor)
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
    require_billing(actor)
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
