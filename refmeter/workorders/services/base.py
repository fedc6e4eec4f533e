"""What the steps of a work order share: the refusals, the locked order and its timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from django.utils.translation import gettext as _

from refmeter.common.versions import Meanwhile, stale_version_problems
from refmeter.organisations.models import Role, User
from refmeter.organisations.selectors import unit_scope
from refmeter.workorders.models import STEP_ROLES, OrderCounter, WorkOrder, WorkOrderEvent
from refmeter.workorders.selectors import OrderNotVisible, may_do_step, order_changes_since

ARCHIVE_WORKING_DAYS = 7
MAX_DOCUMENT_BYTES = 30 * 1024 * 1024
DOCUMENT_SUFFIXES = {".pdf", ".jpg", ".jpeg", ".png", ".xlsx", ".xls", ".ods", ".doc", ".docx"}


class UnableToProgressOrder(Exception):
    """The step cannot be done; ``problems`` lists every reason."""

    def __init__(self, problems: str | Sequence[str]):
        # A FieldProblem (a str) is kept as it is, so a page can show it beside its field.
        self.problems = (
            [problems]
            if isinstance(problems, str)
            else [p if isinstance(p, str) else str(p) for p in problems]
        )
        super().__init__("\n".join(self.problems))


class StepNotAllowed(UnableToProgressOrder):
    pass


class UnableToSaveStaleOrder(UnableToProgressOrder):
    """The order was changed by someone else after the caller read it (at
    ``expected_version``); nothing was written. ``changes`` lists what was done meanwhile."""

    def __init__(self, problems: Sequence[str], *, current_version: int, changes: list[Meanwhile]):
        super().__init__(problems)
        self.current_version = current_version
        self.changes = changes


Change = tuple[str, str, str]  # (field, before, after), see WorkOrderEvent.changes


def _actor_name(actor: User) -> str:
    return actor.get_full_name() or actor.get_username()


def _event(
    order: WorkOrder,
    *,
    actor: User,
    kind: str,
    now: dt.datetime,
    note: str = "",
    changes: Sequence[Change] = (),
    changed: bool = True,
) -> None:
    """The order's timeline entry. A step action on the (locked) order also raises its version
    (``changed``); the entry keeps that version and the fields the action changed."""
    if changed and not order.bump_version():
        raise RuntimeError(f"{order!r} changed while locked")
    WorkOrderEvent.objects.create(
        order=order,
        step=order.step,
        kind=kind,
        actor=actor,
        actor_name=_actor_name(actor),
        occurred_at=now,
        note=note[:500],
        version=order.version if changed else None,
        changes=[list(change) for change in changes if change[1] != change[2]],
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _locked_order(
    *,
    actor: User,
    order_id: int,
    step: str | Sequence[str],
    expected_version: int | None = None,
    may_act: Callable[..., bool] = may_do_step,
) -> WorkOrder:
    """The order, locked, at one of ``step``, for a user whose role does that step; with
    ``expected_version``, only if nobody has changed the order since that version was read."""
    order = (
        WorkOrder.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor), pk=order_id)
        .select_related("unit", "customer", "group", "device_type")
        .first()
    )
    if order is None:
        raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
    if expected_version is not None and order.version != expected_version:
        changes = order_changes_since(order=order, version=expected_version)
        heading = _(
            "工单 %(number)s 在您读取之后已被他人修改（您读取的是第 %(expected)d 版，"
            "现为第 %(current)d 版），本次操作未执行。"
        ) % {"number": order.number, "expected": expected_version, "current": order.version}
        raise UnableToSaveStaleOrder(
            stale_version_problems(heading=heading, changes=changes),
            current_version=order.version,
            changes=changes,
        )
    steps = [step] if isinstance(step, str) else list(step)
    if order.step not in steps:
        raise UnableToProgressOrder(
            _("工单当前在“%(current)s”环节，不能执行此操作。")
            % {"current": order.get_step_display()}
        )
    if not may_act(user=actor, step=order.step):
        raise StepNotAllowed(
            _("“%(step)s”环节应由%(roles)s办理，您的岗位角色无权操作。")
            % {"step": order.get_step_display(), "roles": _step_roles_text(order.step)}
        )
    return order


def _step_roles_text(step: str) -> str:
    return "、".join(str(Role(role).label) for role in sorted(STEP_ROLES.get(step, ())))


def _order_number(day: dt.date) -> str:
    counter, _created = OrderCounter.objects.select_for_update().get_or_create(day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"GD{day:%Y%m%d}{counter.last:05d}"
