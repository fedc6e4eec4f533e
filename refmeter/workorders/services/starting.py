"""Starting an order: a new installation, a change to a group, a field finding."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.text import clean_text
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.registry.models import Customer, DeviceType, Group, GroupStatus
from refmeter.workorders.models import EventKind, OrderKind, Step, WorkOrder
from refmeter.workorders.selectors import OrderNotVisible, may_do_step
from refmeter.workorders.services.base import (
    StepNotAllowed,
    UnableToProgressOrder,
    _event,
    _order_number,
    _step_roles_text,
)

# ---------------------------------------------------------------- starting an order


@dataclass(frozen=True)
class Application:
    """The application form (attachment 3)."""

    handler_name: str = ""
    handler_id_number: str = ""
    handler_phone: str = ""
    sms_number: str = ""
    outage_contact_name: str = ""
    outage_contact_phone: str = ""
    points_applied: int = 0
    note: str = ""


def _start(
    *,
    actor: User,
    kind: str,
    customer: Customer,
    group: Group | None,
    device_type: DeviceType | None,
    application: Application,
    now: dt.datetime,
) -> WorkOrder:
    if not may_do_step(user=actor, step=Step.ACCEPTANCE):
        raise StepNotAllowed(
            _("“%(step)s”环节应由%(roles)s办理，您的岗位角色无权操作。")
            % {"step": Step.ACCEPTANCE.label, "roles": _step_roles_text(Step.ACCEPTANCE)}
        )
    if not unit_is_visible(user=actor, unit=customer.unit):
        raise OrderNotVisible(_("该客户不属于您所在单位及下属单位。"))
    with transaction.atomic():
        order = WorkOrder.objects.create(
            number=_order_number(now.astimezone(dt.UTC).date()),
            kind=kind,
            unit=customer.unit,
            customer=customer,
            group=group,
            device_type=device_type,
            step=Step.ACCEPTANCE,
            created_by=actor,
            created_at=now,
            **{key: value for key, value in application.__dict__.items()},
        )
        _event(order, actor=actor, kind=EventKind.CREATED, now=now, changed=False)
    return order


def order_new_install_start(
    *,
    actor: User,
    customer_id: int,
    device_type_id: int,
    application: Application,
    now: dt.datetime,
) -> WorkOrder:
    """A new group for a customer: base account and sub-accounts in one process."""
    customer = Customer.objects.filter(unit_scope(user=actor), pk=customer_id).first()
    if customer is None:
        raise OrderNotVisible(_("该客户不存在，或不属于您所在单位及下属单位。"))
    device_type = DeviceType.objects.filter(pk=device_type_id).first()
    if device_type is None:
        raise UnableToProgressOrder(_("请选择单点设备类型。"))
    return _start(
        actor=actor,
        kind=OrderKind.NEW_INSTALL,
        customer=customer,
        group=None,
        device_type=device_type,
        application=application,
        now=now,
    )


def order_group_start(
    *, actor: User, group_id: int, kind: str, application: Application, now: dt.datetime
) -> WorkOrder:
    """A change or closure, always started from the group's base account."""
    if kind not in (OrderKind.CHANGE, OrderKind.CLOSURE):
        raise ValueError(kind)
    group = (
        Group.objects.filter(unit_scope(user=actor), pk=group_id)
        .select_related("customer", "device_type")
        .first()
    )
    if group is None:
        raise OrderNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    if group.status != GroupStatus.RUNNING:
        raise UnableToProgressOrder(_("群组已销户，不能再办理业务。"))
    open_order = (
        WorkOrder.objects.filter(group=group)
        .exclude(step=Step.DONE)
        .values_list("number", flat=True)
    ).first()
    if open_order:
        raise UnableToProgressOrder(
            _("该群组已有在途工单 %(number)s，请办结后再发起新的业务。") % {"number": open_order}
        )
    return _start(
        actor=actor,
        kind=kind,
        customer=group.customer,
        group=group,
        device_type=group.device_type,
        application=application,
        now=now,
    )


def order_change_from_finding(
    *, actor: User, group_id: int, note: str, now: dt.datetime
) -> WorkOrder:
    """A change order started by a field finding (points added or removed on site). It waits
    at acceptance for the clerk; if the group already has an open order, the finding is
    noted on that one instead."""
    group = (
        Group.objects.filter(unit_scope(user=actor), pk=group_id)
        .select_related("customer", "device_type")
        .first()
    )
    if group is None:
        raise OrderNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    with transaction.atomic():
        order = WorkOrder.objects.filter(group=group).exclude(step=Step.DONE).first()
        if order is None:
            order = WorkOrder.objects.create(
                number=_order_number(now.astimezone(dt.UTC).date()),
                kind=OrderKind.CHANGE,
                unit=group.unit,
                customer=group.customer,
                group=group,
                device_type=group.device_type,
                step=Step.ACCEPTANCE,
                created_by=actor,
                created_at=now,
                note=clean_text(note)[:500],
            )
            _event(order, actor=actor, kind=EventKind.CREATED, now=now, note=note, changed=False)
        else:
            _event(order, actor=actor, kind=EventKind.NOTE, now=now, note=note, changed=False)
    return order
