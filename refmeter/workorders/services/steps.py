"""Moving between steps: completing a step (applying it to the registry) or returning one."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.text import clean_text
from refmeter.common.validators import FieldProblem
from refmeter.common.workdays import WorkingDaysUnknown, add_working_days
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.services import (
    PointInput,
    UnableToChangeRegistry,
    group_close,
    group_create,
    point_update,
    sub_account_cancel,
    sub_accounts_add,
)
from refmeter.workorders.models import (
    REQUIRED_DOCUMENTS,
    Contract,
    DocumentKind,
    EventKind,
    LineAction,
    OrderKind,
    Step,
    WorkOrder,
    WorkOrderLine,
)
from refmeter.workorders.selectors import OrderNotVisible, grouping_check, next_step, previous_step
from refmeter.workorders.services.base import (
    ARCHIVE_WORKING_DAYS,
    UnableToProgressOrder,
    _event,
    _locked_order,
)

# ---------------------------------------------------------------- moving between steps


def _step_problems(order: WorkOrder, *, now: dt.datetime) -> list[str]:
    lines = list(order.lines.all())
    adds = [line for line in lines if line.action == LineAction.ADD]
    problems: list[str] = []
    if order.step == Step.ACCEPTANCE and order.kind != OrderKind.CLOSURE:
        if not lines:
            problems.append(_("请先导入接电申请清单或添加变更点位。"))
        if order.kind == OrderKind.NEW_INSTALL and not any(line.is_base for line in adds):
            problems.append(_("新装工单须指定一个基准户点位。"))
        check = grouping_check(order=order, as_of=now.date())
        if not check.within_limit:
            problems.append(check.message)
    elif order.step == Step.SURVEY:
        missing_numbers = [line.name for line in adds if not line.account_number]
        if missing_numbers:
            problems.append(_("还有点位没有生成户号，请先“生成户号并解析接入点”。"))
        unplaced = [
            line.name
            for line in lines
            if line.action != LineAction.CANCEL and not line.access_point_id
        ]
        if unplaced:
            problems.append(
                _("以下点位还没有接入点和台区，请人工确认：%(names)s")
                % {"names": "、".join(unplaced[:20])}
            )
    elif order.step == Step.CONTRACT:
        contract = Contract.objects.filter(order=order).first()
        if contract is None or contract.signed_date is None:
            problems.append(_("合同尚未签订，不能进入接电环节。"))
    elif order.step == Step.CONNECTION:
        if order.connection_date is None:
            problems.append(_("请填写接电日期。"))
    elif order.step == Step.INSTALLATION:
        undated = [
            line.line_number
            for line in lines
            if line.action != LineAction.CHANGE and not line.installation_date
        ]
        if undated:
            problems.append(
                _("以下序号的点位还没有安装日期：%(lines)s")
                % {"lines": "、".join(str(number) for number in undated[:30])}
            )
    elif order.step == Step.REMOVAL:
        if order.closure_date is None:
            problems.append(_("请填写拆表（销户）日期。"))
    elif order.step == Step.ARCHIVE:
        present = set(order.documents.values_list("kind", flat=True))
        missing = [kind for kind in REQUIRED_DOCUMENTS[order.kind] if kind not in present]
        if missing:
            problems.append(
                _("还缺少归档资料：%(kinds)s")
                % {"kinds": "、".join(str(DocumentKind(kind).label) for kind in missing)}
            )
    return problems


def _apply_installation(order: WorkOrder, *, actor: User, now: dt.datetime) -> None:
    """The registry changes of the order, on the dates entered."""
    lines = list(order.lines.select_related("access_point", "point").order_by("line_number"))
    reason = str(order.get_kind_display())
    adds = [line for line in lines if line.action == LineAction.ADD]
    if order.kind == OrderKind.NEW_INSTALL:
        base = next(line for line in adds if line.is_base)
        assert order.device_type is not None and base.installation_date is not None
        group = group_create(
            actor=actor,
            unit=order.unit,
            customer=order.customer,
            device_type=order.device_type,
            meter_asset_number=order.meter_asset_number,
            meter_barcode=order.meter_barcode,
            meter_box_resource_number=order.meter_box_resource_number,
            ct_ratio=order.ct_ratio,
            tariff_code=order.tariff_code,
            meter_install_date=order.connection_date or base.installation_date,
            created_date=base.installation_date,
            base=_point_input(base),
            now=now,
            reason=reason,
            work_order=order.number,
        )
        order.group = group
        order.save(update_fields=["group"])
        adds = [line for line in adds if not line.is_base]
    assert order.group_id is not None
    if adds:
        sub_accounts_add(
            actor=actor,
            group_id=order.group_id,
            points=[_point_input(line) for line in adds],
            now=now,
            reason=reason,
            work_order=order.number,
        )
    for line in lines:
        if line.action == LineAction.CANCEL:
            assert line.point_id is not None and line.installation_date is not None
            sub_account_cancel(
                actor=actor,
                point_id=line.point_id,
                active_to_date=line.installation_date,
                now=now,
                reason=reason,
                work_order=order.number,
            )
        elif line.action == LineAction.CHANGE:
            assert line.point_id is not None
            point_update(
                actor=actor,
                point_id=line.point_id,
                now=now,
                reason=reason,
                work_order=order.number,
                name=line.name,
                device_address=line.device_address,
                access_point_number=line.access_point.number if line.access_point else None,
                effective_date=order.connection_date,
            )


def _point_input(line: WorkOrderLine) -> PointInput:
    return PointInput(
        name=line.name,
        device_address=line.device_address,
        nearby_number=line.nearby_number,
        access_point_number=line.access_point.number if line.access_point else "",
        account_number=line.account_number,
        active_from_date=line.installation_date,
    )


def order_step_complete(
    *,
    actor: User,
    order_id: int,
    now: dt.datetime,
    note: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    """Finish the current step and hand the order to the next one."""
    with transaction.atomic():
        order = WorkOrder.objects.filter(unit_scope(user=actor), pk=order_id).first()
        if order is None:
            raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
        if order.step == Step.DONE:
            raise UnableToProgressOrder(_("工单已办结。"))
        order = _locked_order(
            actor=actor, order_id=order_id, step=order.step, expected_version=expected_version
        )
        problems = _step_problems(order, now=now)
        if problems:
            raise UnableToProgressOrder(problems)
        try:
            if order.step == Step.INSTALLATION:
                _apply_installation(order, actor=actor, now=now)
            elif order.step == Step.REMOVAL:
                assert order.group_id is not None and order.closure_date is not None
                group_close(
                    actor=actor,
                    group_id=order.group_id,
                    closure_date=order.closure_date,
                    now=now,
                    reason=str(order.get_kind_display()),
                    work_order=order.number,
                )
            elif order.step == Step.CONNECTION:
                assert order.connection_date is not None
                try:
                    order.archive_due_date = add_working_days(
                        order.connection_date, ARCHIVE_WORKING_DAYS
                    )
                    order.archive_due_unknown = False
                except WorkingDaysUnknown:
                    order.archive_due_date = None
                    order.archive_due_unknown = True
        except UnableToChangeRegistry as error:
            raise UnableToProgressOrder(error.problems) from error
        if order.kind == OrderKind.CLOSURE and order.step == Step.REMOVAL:
            assert order.closure_date is not None
            try:
                order.archive_due_date = add_working_days(order.closure_date, ARCHIVE_WORKING_DAYS)
            except WorkingDaysUnknown:
                order.archive_due_unknown = True
        following = next_step(order)
        _event(order, actor=actor, kind=EventKind.COMPLETED, now=now, note=note,
               changes=[("step", order.step, following)])  # fmt: skip
        order.step = following
        if order.step == Step.DONE:
            order.completed_at = now
        order.save()
    return order


# Once the registry has changed, going back would change it twice.
APPLIED_STEPS = {Step.ARCHIVE}


def order_step_return(
    *,
    actor: User,
    order_id: int,
    reason: str,
    now: dt.datetime,
    expected_version: int | None = None,
) -> WorkOrder:
    """Send the order back to the previous step, with the reason."""
    with transaction.atomic():
        order = WorkOrder.objects.filter(unit_scope(user=actor), pk=order_id).first()
        if order is None:
            raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
        order = _locked_order(
            actor=actor, order_id=order_id, step=order.step, expected_version=expected_version
        )
        if not clean_text(reason):
            raise UnableToProgressOrder(FieldProblem(_("退回须填写原因。"), field="reason"))
        previous = previous_step(order)
        if previous is None:
            raise UnableToProgressOrder(_("受理环节是第一个环节，不能退回。"))
        if order.step in APPLIED_STEPS:
            raise UnableToProgressOrder(_("档案变更已生效，不能退回；如有错误请发起新的变更流程。"))
        _event(order, actor=actor, kind=EventKind.RETURNED, now=now, note=clean_text(reason),
               changes=[("step", order.step, previous)])  # fmt: skip
        order.step = previous
        order.save(update_fields=["step"])
    return order
