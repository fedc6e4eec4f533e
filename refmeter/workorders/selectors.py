"""Reads of work orders, within the user's units."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from refmeter.common.workdays import WorkingDaysUnknown, add_working_days
from refmeter.organisations.models import Role, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Group, Point, PointKind
from refmeter.registry.selectors import active_on_filter
from refmeter.workorders.models import (
    STEP_ROLES,
    STEPS,
    LineAction,
    Step,
    WorkOrder,
    WorkOrderLine,
)


class OrderNotVisible(Exception):
    pass


def may_do_step(*, user: User, step: str) -> bool:
    if not user.is_active:
        return False
    if user.is_superuser or user.role == Role.ADMINISTRATOR:
        return True
    return user.role in STEP_ROLES.get(step, frozenset())


def next_step(order: WorkOrder) -> str:
    steps = STEPS[order.kind]
    position = steps.index(order.step)
    return steps[position + 1] if position + 1 < len(steps) else Step.DONE


def previous_step(order: WorkOrder) -> str | None:
    steps = STEPS[order.kind]
    position = steps.index(order.step)
    return steps[position - 1] if position > 0 else None


def visible_orders(*, user: User) -> QuerySet[WorkOrder]:
    require(user=user, action=Action.VIEW_REGISTRY)
    return WorkOrder.objects.filter(unit_scope(user=user))


def order_get(*, user: User, order_id: int) -> WorkOrder:
    order = (
        visible_orders(user=user)
        .select_related("unit", "customer", "group", "device_type", "created_by")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
    return order


@dataclass(frozen=True)
class OrderRow:
    order_id: int
    number: str
    kind: str
    kind_label: str
    step: str
    step_label: str
    customer_name: str
    base_account_number: str
    lines: int
    created_at: dt.datetime
    archive_due_date: dt.date | None
    archive_due_unknown: bool


def order_rows(*, orders: Any) -> list[OrderRow]:
    order_list = list(
        WorkOrder.objects.filter(pk__in=[order.pk for order in orders])
        .select_related("customer")
        .annotate(line_count=Count("lines"))
    )
    by_id = {order.pk: order for order in order_list}
    group_ids = {order.group_id for order in order_list if order.group_id}
    bases = dict(
        Point.objects.filter(group_id__in=group_ids, kind=PointKind.BASE).values_list(
            "group_id", "account_number"
        )
    )
    base_lines = dict(
        WorkOrderLine.objects.filter(order_id__in=list(by_id), is_base=True).values_list(
            "order_id", "account_number"
        )
    )
    rows = []
    for order in orders:
        loaded = by_id[order.pk]
        rows.append(
            OrderRow(
                order_id=loaded.pk,
                number=loaded.number,
                kind=loaded.kind,
                kind_label=loaded.get_kind_display(),
                step=loaded.step,
                step_label=loaded.get_step_display(),
                customer_name=loaded.customer.name,
                base_account_number=(bases.get(loaded.group_id) if loaded.group_id else "")
                or base_lines.get(loaded.pk, ""),
                lines=loaded.line_count,
                created_at=loaded.created_at,
                archive_due_date=loaded.archive_due_date,
                archive_due_unknown=loaded.archive_due_unknown,
            )
        )
    return rows


def orders_search(*, user: User, step: str = "", mine: bool = False) -> QuerySet[WorkOrder]:
    orders = visible_orders(user=user).exclude(step=Step.DONE) if not step else None
    if step:
        orders = visible_orders(user=user).filter(step=step)
    assert orders is not None
    if mine and not (user.is_superuser or user.role == Role.ADMINISTRATOR):
        steps = [name for name, roles in STEP_ROLES.items() if user.role in roles]
        orders = orders.filter(step__in=steps)
    return orders.order_by("-created_at", "-id")


@dataclass(frozen=True)
class ArchiveDeadlines:
    overdue: list[OrderRow]
    due_soon: list[OrderRow]
    unknown: list[OrderRow]
    soon_until: dt.date | None


def archive_deadlines(*, user: User, today: dt.date) -> ArchiveDeadlines:
    """Orders waiting for their archive: overdue, due within 2 working days, or undeterminable."""
    waiting = visible_orders(user=user).filter(step=Step.ARCHIVE)
    try:
        soon_until: dt.date | None = add_working_days(today, 2)
    except WorkingDaysUnknown:
        soon_until = None
    overdue = waiting.filter(archive_due_date__lt=today).order_by("archive_due_date")
    soon = waiting.filter(archive_due_date__gte=today)
    if soon_until is not None:
        soon = soon.filter(archive_due_date__lte=soon_until)
    unknown = waiting.filter(archive_due_unknown=True)
    return ArchiveDeadlines(
        overdue=order_rows(orders=overdue),
        due_soon=order_rows(orders=soon.order_by("archive_due_date")),
        unknown=order_rows(orders=unknown),
        soon_until=soon_until,
    )


@dataclass(frozen=True)
class GroupingCheck:
    limit: int
    current_active: int
    adding: int
    cancelling: int
    projected: int
    within_limit: bool
    siblings: list[tuple[str, int]]  # other groups of the customer and device type
    balanced: bool
    message: str


def grouping_check(*, order: WorkOrder, as_of: dt.date) -> GroupingCheck:
    """The sub-account limit and the balance across the customer's groups of one device type."""
    limit = settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS
    actions = Counter(order.lines.values_list("action", flat=True))
    adding = actions.get(LineAction.ADD, 0)
    cancelling = actions.get(LineAction.CANCEL, 0)
    current = 0
    device_type_id = order.device_type_id
    if order.group_id:
        current = Point.objects.filter(
            active_on_filter(as_of), group_id=order.group_id, kind=PointKind.SUB
        ).count()
        device_type_id = order.group.device_type_id if order.group else device_type_id
    projected = current + adding - cancelling
    if order.group_id is None and adding:
        projected -= 1  # one of the new points is the base account
    siblings_query = Group.objects.filter(
        customer_id=order.customer_id, device_type_id=device_type_id, status="running"
    ).exclude(pk=order.group_id or 0)
    sibling_counts = dict(
        siblings_query.annotate(
            subs=Count(
                "points",
                filter=Q(points__kind=PointKind.SUB) & active_on_filter(as_of, "points__"),
            )
        ).values_list("pk", "subs")
    )
    base_numbers = dict(
        Point.objects.filter(group_id__in=list(sibling_counts), kind=PointKind.BASE).values_list(
            "group_id", "account_number"
        )
    )
    siblings = sorted(
        (base_numbers.get(group_id, str(group_id)), count)
        for group_id, count in sibling_counts.items()
    )
    counts = [count for _number, count in siblings] + [projected]
    spread = max(counts) - min(counts)
    balanced = spread <= max(10, limit // 10)
    within = projected <= limit
    parts = [
        _(
            "本群组在用虚拟子户 %(current)d 个，新增 %(add)d 个，取消 %(cancel)d 个，"
            "办理后 %(after)d 个（上限 %(limit)d）。"
        )
        % {
            "current": current,
            "add": adding,
            "cancel": cancelling,
            "after": projected,
            "limit": limit,
        }
    ]
    if siblings:
        parts.append(
            _("同客户同设备类型的其他群组：%(groups)s；最多与最少相差 %(spread)d 个。")
            % {
                "groups": "，".join(f"{number}：{count}" for number, count in siblings),
                "spread": spread,
            }
        )
    if not balanced:
        parts.append(_("提醒：各群组虚拟子户数量不均衡，建议调整分组。"))
    return GroupingCheck(
        limit=limit,
        current_active=current,
        adding=adding,
        cancelling=cancelling,
        projected=projected,
        within_limit=within,
        siblings=siblings,
        balanced=balanced,
        message="".join(parts),
    )
