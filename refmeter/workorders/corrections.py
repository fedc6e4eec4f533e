"""Correcting an order's application and withdrawing an order (services).

Who: whoever may do the order's current step, or the clerk (acceptance), who took the
application and answers the customer. The application can be corrected until the survey
is done; an order can be withdrawn (撤销) at any step before its points are connected
(a closure: before the meter is removed). Both are on the order's timeline with what
changed, and in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import fields

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_text
from refmeter.common.validators import (
    FieldProblem,
    id_card_problem,
    mobile_problem,
    phone_problem,
)
from refmeter.organisations.models import User
from refmeter.registry.models import RetiredAccountNumber
from refmeter.workorders.models import EventKind, LineAction, Step, WorkOrder
from refmeter.workorders.selectors import WITHDRAWABLE, may_correct_order
from refmeter.workorders.services import Application, UnableToProgressOrder
from refmeter.workorders.services.base import _event, _locked_order

# The survey done, the application is what the points were placed and numbered for.
EDITABLE_STEPS = (Step.ACCEPTANCE, Step.SURVEY)
# Before connection nothing is on site or in the registry yet.
WITHDRAWABLE_STEPS = WITHDRAWABLE
APPLICATION_FIELDS = [
    "handler_name", "handler_id_number", "handler_phone", "sms_number", "outage_contact_name",
    "outage_contact_phone", "note",
]  # fmt: skip


def application_problems(application: Application) -> list[str]:
    """The application form's values with a known shape, each beside its field."""
    checks: dict[str, Callable[[object], str | None]] = {
        "handler_id_number": id_card_problem,
        "handler_phone": phone_problem,
        "sms_number": mobile_problem,
        "outage_contact_phone": phone_problem,
    }
    problems: list[str] = []
    for name, check in checks.items():
        value = clean_text(getattr(application, name))
        problem = check(value) if value else None
        if problem:
            problems.append(FieldProblem(problem, field=name))
    return problems


def _refused_step(order: WorkOrder, steps: tuple[str, ...], what: str) -> UnableToProgressOrder:
    allowed = "、".join(str(Step(step).label) for step in steps)
    return UnableToProgressOrder(
        _("工单当前在“%(current)s”环节，%(what)s只能在以下环节办理：%(allowed)s。")
        % {"current": order.get_step_display(), "what": what, "allowed": allowed}
    )


def order_application_edit(
    *,
    actor: User,
    order_id: int,
    application: Application,
    reason: str,
    now: dt.datetime,
    expected_version: int | None = None,
) -> WorkOrder:
    """Correct the application form until the survey is done; the timeline and the audit
    trail keep each field before and after."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=[step.value for step in Step],
            expected_version=expected_version, may_act=may_correct_order,
        )  # fmt: skip
        if order.step not in EDITABLE_STEPS:
            raise _refused_step(order, EDITABLE_STEPS, _("申请信息的修改"))
        problems = application_problems(application)
        if not clean_text(reason):
            problems.append(FieldProblem(_("请填写修改原因。"), field="reason"))
        if problems:
            raise UnableToProgressOrder(problems)
        values = {
            name: clean_text(getattr(application, name))
            for name in APPLICATION_FIELDS
            if name in {field.name for field in fields(Application)}
        }
        before = {name: getattr(order, name) for name in values}
        changed = {name: value for name, value in values.items() if before[name] != value}
        if not changed:
            raise UnableToProgressOrder(_("申请信息没有变化。"))
        for name, value in changed.items():
            setattr(order, name, value)
        order.save(update_fields=list(changed))
        _event(
            order, actor=actor, kind=EventKind.EDITED, now=now, note=clean_text(reason),
            changes=[(name, before[name], value) for name, value in changed.items()],
        )  # fmt: skip
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="workorder.application_edit",
                subject_type="work_order",
                subject_id=order.pk,
                subject_label=order.number,
                before={name: before[name] for name in changed},
                after=changed,
            ),
            reason=clean_text(reason),
            work_order=order.number,
        )
    return order


def order_withdraw(
    *,
    actor: User,
    order_id: int,
    reason: str,
    confirmed: bool,
    now: dt.datetime,
    expected_version: int | None = None,
) -> WorkOrder:
    """Withdraw (撤销) the order before connection: it is closed without touching the
    registry; account numbers issued for its points are retired, never to be issued again."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=[step.value for step in Step],
            expected_version=expected_version, may_act=may_correct_order,
        )  # fmt: skip
        allowed = WITHDRAWABLE_STEPS[order.kind]
        if order.step not in allowed:
            if order.step == Step.DONE:
                raise UnableToProgressOrder(_("工单已办结或已撤销，不能撤销。"))
            raise UnableToProgressOrder(
                _("工单已过接电（或拆表），点位已在现场接入，不能撤销；如需取消请发起变更或销户。")
            )
        problems: list[str] = []
        if not clean_text(reason):
            problems.append(FieldProblem(_("撤销须填写原因。"), field="reason"))
        if not confirmed:
            problems.append(FieldProblem(_("撤销不可恢复，请勾选确认后再提交。"), field="confirm"))
        if problems:
            raise UnableToProgressOrder(problems)
        issued = list(
            order.lines.filter(action=LineAction.ADD)
            .exclude(account_number="")
            .order_by("line_number")
            .values_list("account_number", flat=True)
        )
        RetiredAccountNumber.objects.bulk_create(
            [
                RetiredAccountNumber(
                    number=number,
                    unit=order.unit,
                    retired_at=now,
                    work_order=order.number,
                    reason=clean_text(reason)[:500],
                )
                for number in issued
            ],
            ignore_conflicts=True,
        )
        step = order.step
        changes: list[tuple[str, str, str]] = [("step", step, str(Step.DONE))]
        if issued:
            changes.append(("retired_account_numbers", "", "、".join(issued)))
        _event(order, actor=actor, kind=EventKind.WITHDRAWN, now=now, note=clean_text(reason),
               changes=changes)  # fmt: skip
        order.step = Step.DONE
        order.completed_at = now
        order.withdrawn_at = now
        order.withdrawal_reason = clean_text(reason)[:500]
        order.save(update_fields=["step", "completed_at", "withdrawn_at", "withdrawal_reason"])
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="workorder.withdraw",
                subject_type="work_order",
                subject_id=order.pk,
                subject_label=order.number,
                before={"step": step},
                after={"step": Step.DONE, "retired_account_numbers": issued},
            ),
            reason=clean_text(reason),
            work_order=order.number,
        )
    return order
