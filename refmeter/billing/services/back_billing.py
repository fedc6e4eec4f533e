"""Back-billing (退补): energy and charges put right for a period by the methods of the
Supply Business Rules art. 80-81, every step kept, approved by a second billing user.

Money is only written by billing staff of the group's unit (or a unit above it). A result
beyond a sanity bound (three times the group's largest issued monthly bill of the twelve
months before the period end) is written only once the computer confirms it. An anomaly
case has at most one back-billing that is not withdrawn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase
from refmeter.audit.services import AuditChange, audit_record
from refmeter.billing.models import (
    BackBilling,
    BackBillingMethod,
    BackBillingStatus,
    BillAdjustment,
    Tariff,
    TariffKind,
)
from refmeter.billing.selectors.back_billing import (
    case_current_back_billing,
    largest_monthly_bill,
    local_time,
)
from refmeter.billing.services.base import (
    UnableToBill,
    energy,
    money,
    require_billing,
    require_billing_for_unit,
)
from refmeter.billing.services.normal_period import (
    normal_period_steps,
    reference_energy,
    register_difference,
)
from refmeter.common.periods import Period
from refmeter.common.text import clean_text
from refmeter.common.validators import FieldProblem
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action
from refmeter.registry.models import Group, GroupStatus
from refmeter.registry.selectors import group_terms_pieces

BOUND_TIMES = 3
BOUND_MONTHS = 12
# Far beyond any group (at most 100 sub-accounts and the base account): a count above it is
# a typing error, not a finding.
MAX_CORRECT_POINTS = 10_000
POINTS = "correct_points"  # the form field a refusal of the number of points belongs to


def _price_on(group: Group, day: dt.date) -> Decimal:
    [terms] = group_terms_pieces(group=group, start=day, end=day + dt.timedelta(days=1))
    tariff = (
        Tariff.objects.filter(code=terms.tariff_code, effective_from__lte=day)
        .order_by("-effective_from")
        .first()
    )
    if tariff is None:
        raise UnableToBill(_("电价代码“%(code)s”没有电价。") % {"code": terms.tariff_code})
    return tariff.price if tariff.kind == TariffKind.SINGLE else tariff.flat_price  # type: ignore[return-value]


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - BOUND_MONTHS // 12)
    except ValueError:  # 29 February
        return day.replace(year=day.year - BOUND_MONTHS // 12, day=28)


# ---------------------------------------------------------------- results and refusals


@dataclass(frozen=True)
class BackBillingPreview:
    """A computed back-billing not (yet) written: what the page shows for confirmation."""

    group_id: int
    case_id: int | None
    method: str
    period_start: dt.date
    period_end: dt.date
    parameters: dict[str, Any]
    steps: list[dict[str, str]]
    energy: Decimal
    price: Decimal
    amount: Decimal
    largest_bill: Decimal
    sanity_bound: Decimal

    @property
    def over_bound(self) -> bool:
        return abs(self.amount) > self.sanity_bound


class BackBillingOverBound(UnableToBill):
    """The amount is beyond the sanity bound and was not confirmed; nothing was written."""

    def __init__(self, preview: BackBillingPreview) -> None:
        self.preview = preview
        if preview.largest_bill > 0:
            message = _(
                "退补金额 %(amount)s 元超出合理范围：近 12 个月最大月度电费 %(largest)s 元的 "
                "3 倍为 %(bound)s 元。请核对计算过程，确认无误后勾选确认再提交。"
            )
        else:
            message = _(
                "退补金额 %(amount)s 元超出合理范围：该群组近 12 个月没有有效的电费账单，"
                "合理上限为 %(bound)s 元。请核对计算过程，确认无误后勾选确认再提交。"
            )
        super().__init__(
            message
            % {
                "amount": preview.amount,
                "largest": preview.largest_bill,
                "bound": preview.sanity_bound,
            }
        )


class BackBillingExists(UnableToBill):
    """The anomaly case already has a back-billing that is not withdrawn."""

    def __init__(self, existing: BackBilling) -> None:
        self.existing_id = existing.pk
        facts = {
            "number": existing.pk,
            "status": existing.get_status_display(),
            "amount": existing.amount,
            "person": existing.created_by.get_full_name() or existing.created_by.get_username(),
            "at": local_time(existing.created_at),
        }
        if existing.status == BackBillingStatus.DRAFT:
            message = _(
                "该异常已有退补记录 %(number)s 号（%(status)s，金额 %(amount)s 元，%(person)s "
                "%(at)s 计算）；须先撤回它才能重新计算。"
            )
        else:
            message = _(
                "该异常已有退补记录 %(number)s 号（%(status)s，金额 %(amount)s 元，%(person)s "
                "%(at)s 计算）；已审批的退补不能撤回，不能再为该异常计算退补。"
            )
        super().__init__(message % facts)


class BackBillingOverlaps(UnableToBill):
    """The group already has a back-billing, not withdrawn, for some of the same days."""

    def __init__(self, existing: BackBilling) -> None:
        self.existing_id = existing.pk
        super().__init__(
            _(
                "该群组已有退补记录 %(number)s 号（%(status)s，%(start)s 至 %(end)s，金额 "
                "%(amount)s 元）覆盖了部分相同的日子；同一天的电量不能退补两次。请调整退补期间，"
                "或先撤回该记录。"
            )
            % {
                "number": existing.pk,
                "status": existing.get_status_display(),
                "start": existing.period_start.isoformat(),
                "end": existing.period_end.isoformat(),
                "amount": existing.amount,
            }
        )


def _overlapping(group: Group, start: dt.date, end: dt.date) -> BackBilling | None:
    return (
        BackBilling.objects.filter(group=group, period_start__lt=end, period_end__gt=start)
        .exclude(status=BackBillingStatus.WITHDRAWN)
        .order_by("pk")
        .first()
    )


def _current_for_case(case_id: int) -> BackBilling | None:
    return case_current_back_billing(case_id=case_id)


# ---------------------------------------------------------------- compute


def _preview(
    *,
    group: Group,
    case: AnomalyCase | None,
    method: str,
    period_start: dt.date,
    period_end: dt.date,
    parameters: dict[str, Any],
) -> BackBillingPreview:
    from refmeter.registry.selectors import group_point_days

    days = (period_end - period_start).days
    point_days = group_point_days(group_id=group.pk, period=Period(period_start, period_end))
    difference_read = register_difference(group, period_start, period_end)
    if difference_read < 0:
        raise UnableToBill(
            _(
                "退补期间 %(start)s 至 %(end)s 的参考表示数差为 %(energy)s kWh（示数下降，"
                "可能换表或清零），请按换表前后分段计算。"
            )
            % {"start": period_start, "end": period_end, "energy": difference_read}
        )
    recorded = energy(reference_energy(group, period_start, period_end) * point_days / days)
    steps: list[dict[str, str]] = [
        {"step": _("退补期间"), "value": f"{period_start} — {period_end}（{days} 天）"},
        {"step": _("档案点·天（期间每天的综合倍率之和）"), "value": str(point_days)},
        {"step": _("已按读数结算的电量"), "value": f"{recorded} kWh"},
    ]
    if method == BackBillingMethod.OWN_HISTORY:
        baseline, baseline_days, chosen = normal_period_steps(
            group, case, period_start, period_end, parameters
        )
        daily = baseline / baseline_days
        correct = energy(daily * point_days)
        steps += [
            *chosen,
            {
                "step": _("正常期间参考表电量"),
                "value": f"{parameters['baseline_start']} — {parameters['baseline_end']}："
                f"{baseline} kWh（{baseline_days} 天）",
            },
            {
                "step": _("正常日均单点电量"),
                "value": f"{baseline} ÷ {baseline_days} = {daily.quantize(Decimal('0.0001'))} kWh",
            },
            {"step": _("应结算电量 = 日均单点电量 × 点·天"), "value": f"{correct} kWh"},
        ]
    elif method == BackBillingMethod.PEERS:
        peers = (
            Group.objects.filter(device_type=group.device_type, status=GroupStatus.RUNNING)
            .exclude(pk=group.pk)
            .exclude(anomaly_cases__status="open")
        )
        per_point = []
        for peer in peers:
            try:
                peer_energy = reference_energy(peer, period_start, period_end)
            except UnableToBill:
                continue
            if peer_energy > 0:  # a peer that read nothing, or went down, is not normal
                per_point.append(peer_energy / days)
        if not per_point:
            raise UnableToBill(
                _("没有可比的正常群组（同设备类型、期间读数完整且电量为正、无未结异常）。")
            )
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
            raise UnableToBill(
                FieldProblem(_("请填写现场核实的正确点数（含基准户）。"), field=POINTS)
            ) from error
        if correct_points < 1:
            raise UnableToBill(FieldProblem(_("正确点数至少为 1。"), field=POINTS))
        if correct_points > MAX_CORRECT_POINTS:
            raise UnableToBill(
                FieldProblem(
                    _("正确点数不能超过 %(most)d。") % {"most": MAX_CORRECT_POINTS}, field=POINTS
                )
            )
        reference = reference_energy(group, period_start, period_end)
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
    largest = max(
        largest_monthly_bill(group_id=group.pk, start=_year_before(period_end), end=period_end)
        or Decimal(0),
        Decimal(0),
    )
    return BackBillingPreview(
        group_id=group.pk,
        case_id=case.pk if case is not None else None,
        method=method,
        period_start=period_start,
        period_end=period_end,
        parameters=parameters,
        steps=steps,
        energy=difference,
        price=price,
        amount=amount,
        largest_bill=money(largest),
        sanity_bound=money(largest * BOUND_TIMES),
    )


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
    confirm_over_bound: bool = False,
) -> BackBilling:
    """Compute a back-billing (or a refund, when negative) by one of the methods of the Supply
    Business Rules art. 80-81, keeping every step of the calculation.

    Beyond the sanity bound and not confirmed, raises ``BackBillingOverBound`` carrying the
    preview and writes nothing."""
    require_billing(actor, Action.COMPUTE_BACK_BILLING)
    group = Group.objects.filter(pk=group_id).select_related("device_type", "unit").first()
    if group is None:
        from refmeter.registry.selectors import RecordNotVisible

        raise RecordNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    require_billing_for_unit(actor, group.unit, Action.COMPUTE_BACK_BILLING)
    case = None
    if case_id is not None:
        case = AnomalyCase.objects.filter(pk=case_id).first()
        if case is None or case.group_id != group.pk:
            raise UnableToBill(_("该异常不属于这个群组。"))
        existing = _current_for_case(case.pk)
        if existing is not None:
            raise BackBillingExists(existing)
    if method not in BackBillingMethod.values:
        raise UnableToBill(_("未知的退补计算方法。"))
    if period_end <= period_start:
        raise UnableToBill(
            FieldProblem(_("退补期间的结束日期必须晚于开始日期。"), field="period_end")
        )
    today = timezone.localtime(now).date()
    if period_end > today:
        raise UnableToBill(
            FieldProblem(
                _("退补期间的结束日期不能晚于今天（%(today)s）：还没有它的日冻结读数。")
                % {"today": today.isoformat()},
                field="period_end",
            )
        )
    overlapping = _overlapping(group, period_start, period_end)
    if overlapping is not None:
        raise BackBillingOverlaps(overlapping)
    preview = _preview(
        group=group, case=case, method=method, period_start=period_start,
        period_end=period_end, parameters=dict(parameters or {}),
    )  # fmt: skip
    if preview.over_bound and not confirm_over_bound:
        raise BackBillingOverBound(preview)
    try:
        with transaction.atomic():
            # One back-billing of a day at a time, whichever case it comes from: the group's
            # row lock makes the check and the write one step for concurrent computations.
            Group.objects.select_for_update().filter(pk=group.pk).first()
            overlapping = _overlapping(group, period_start, period_end)
            if overlapping is not None:
                raise BackBillingOverlaps(overlapping)
            back_billing = BackBilling.objects.create(
                case=case,
                group=group,
                method=method,
                period_start=period_start,
                period_end=period_end,
                parameters=preview.parameters,
                steps=preview.steps,
                energy=preview.energy,
                price=preview.price,
                amount=preview.amount,
                sanity_bound=preview.sanity_bound,
                over_bound_confirmed=preview.over_bound,
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
                    after={
                        "back_billing": back_billing.pk,
                        "case": case.pk if case is not None else None,
                        "method": method,
                        "energy": str(preview.energy),
                        "amount": str(preview.amount),
                        "sanity_bound": str(preview.sanity_bound),
                        "over_bound_confirmed": preview.over_bound,
                    },
                ),
            )
    except IntegrityError as error:
        # Another back-billing for the same case was written meanwhile: the constraint
        # one_back_billing_per_case_at_a_time held it.
        existing = _current_for_case(case.pk) if case is not None else None
        if existing is None:
            raise
        raise BackBillingExists(existing) from error
    return back_billing


def _locked(actor: User, back_billing_id: int, action: Action) -> BackBilling:
    item = (
        BackBilling.objects.select_for_update(of=("self",))
        .select_related("group__unit")
        .filter(pk=back_billing_id)
        .first()
    )
    if item is None:
        raise UnableToBill(_("未找到该退补记录。"))
    require_billing_for_unit(actor, item.group.unit, action)
    return item


def back_billing_approve(*, actor: User, back_billing_id: int, now: dt.datetime) -> BillAdjustment:
    """Billing staff other than the computer approve; the amount is posted as an adjustment
    on the group's next bill."""
    require_billing(actor, Action.APPROVE_BACK_BILLING)
    with transaction.atomic():
        item = _locked(actor, back_billing_id, Action.APPROVE_BACK_BILLING)
        if item.status == BackBillingStatus.WITHDRAWN:
            raise UnableToBill(_("该退补已撤回，不能审批。"))
        if item.status != BackBillingStatus.DRAFT:
            raise UnableToBill(_("该退补已经审批。"))
        if item.created_by_id == actor.pk:
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
                after={"back_billing": item.pk, "amount": str(item.amount)},
            ),
        )
    return adjustment


WITHDRAWAL_REASON_LENGTH = 500


def back_billing_withdraw(
    *, actor: User, back_billing_id: int, reason: str, now: dt.datetime
) -> BackBilling:
    """A back-billing waiting for approval is withdrawn with a reason; the record stays, so
    the case may have a new one. An approved back-billing is final."""
    require_billing(actor, Action.COMPUTE_BACK_BILLING)
    reason = clean_text(reason)
    with transaction.atomic():
        item = _locked(actor, back_billing_id, Action.COMPUTE_BACK_BILLING)
        if item.status == BackBillingStatus.APPROVED:
            raise UnableToBill(_("已审批的退补不能撤回。"))
        if item.status == BackBillingStatus.WITHDRAWN:
            raise UnableToBill(_("该退补已经撤回。"))
        if not reason:
            raise UnableToBill(_("请填写撤回原因。"))
        if len(reason) > WITHDRAWAL_REASON_LENGTH:
            raise UnableToBill(
                _("撤回原因不能超过 %(limit)d 个字。") % {"limit": WITHDRAWAL_REASON_LENGTH}
            )
        item.status = BackBillingStatus.WITHDRAWN
        item.withdrawn_by = actor
        item.withdrawn_at = now
        item.withdrawal_reason = reason
        item.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdrawal_reason"])
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            change=AuditChange(
                action="back_billing.withdraw",
                subject_type="group",
                subject_id=item.group_id,
                subject_label=item.group.meter_asset_number,
                before={"back_billing": item.pk, "status": BackBillingStatus.DRAFT.value},
                after={"back_billing": item.pk, "status": BackBillingStatus.WITHDRAWN.value},
            ),
        )
    return item
