"""Reads of work orders, within the user's units."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from refmeter.common.versions import Meanwhile
from refmeter.common.workdays import WorkingDaysUnknown, add_working_days
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require, role_may
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.registry.models import Group, Point, PointKind
from refmeter.registry.selectors import active_on_filter
from refmeter.workorders.models import (
    STEP_ACTIONS,
    STEPS,
    Contract,
    EventKind,
    LineAction,
    Step,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderLine,
)


class OrderNotVisible(Exception):
    pass


def may_do_step(*, user: User, step: str) -> bool:
    action = STEP_ACTIONS.get(step)
    return action is not None and role_may(user=user, action=action)


# The steps before connection (a closure: before the meter is removed), when an order may
# still be withdrawn; see refmeter.workorders.corrections.
WITHDRAWABLE: dict[str, tuple[str, ...]] = {
    "new_install": (Step.ACCEPTANCE, Step.SURVEY, Step.CONTRACT, Step.CONNECTION),
    "change": (Step.ACCEPTANCE, Step.SURVEY, Step.CONTRACT, Step.CONNECTION),
    "closure": (Step.ACCEPTANCE, Step.REMOVAL),
}


def may_correct_order(*, user: User, step: str) -> bool:
    """Correct or withdraw an order at ``step``: who does that step, or the clerk."""
    return may_do_step(user=user, step=step) or may_do_step(user=user, step=Step.ACCEPTANCE)


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
                step_label=(str(_("已撤销")) if loaded.withdrawn_at else loaded.get_step_display()),
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


ORDER_SORTS: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "kind": ("kind", "-created_at"),
    "step": ("step", "-created_at"),
    "customer": ("customer__name", "-created_at"),
    "created": ("created_at",),
    "due": ("archive_due_date", "-created_at"),
}


def orders_search(
    *,
    user: User,
    view: str = "mine",
    text: str = "",
    kind: str = "",
    step: str = "",
    unit_id: int | None = None,
    created_from: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
) -> QuerySet[WorkOrder]:
    """``mine``: open orders at a step the user's role does; ``open``; ``done``. ``text`` is
    part of the order number or the customer's name, or the start of an account number on
    the order (a line's, or its group's base account); ``created_before`` is exclusive."""
    orders = visible_orders(user=user)
    done = Q(step=Step.DONE)
    orders = orders.filter(done) if view == "done" else orders.exclude(done)
    if view == "mine":
        steps = [step for step in STEP_ACTIONS if may_do_step(user=user, step=step)]
        orders = orders.filter(step__in=steps)
    if text:
        numbered = Q(number__icontains=text) | Q(customer__name__icontains=text)
        if text.isascii() and text.isdigit():
            lines = WorkOrderLine.objects.filter(account_number__startswith=text)
            bases = Point.objects.filter(kind=PointKind.BASE, account_number__startswith=text)
            numbered |= Q(pk__in=lines.values("order_id")) | Q(
                group_id__in=bases.values("group_id")
            )
        orders = orders.filter(numbered)
    if kind:
        orders = orders.filter(kind=kind)
    if step:
        orders = orders.filter(step=step)
    if unit_id:
        unit = units_visible_to(user=user).filter(pk=unit_id).first()
        orders = orders.filter(unit__path__startswith=unit.path) if unit else orders.none()
    if created_from:
        orders = orders.filter(created_at__gte=created_from)
    if created_before:
        orders = orders.filter(created_at__lt=created_before)
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


@dataclass(frozen=True)
class LineRow:
    line_id: int
    line_number: int
    action: str
    action_label: str
    is_base: bool
    account_number: str
    name: str
    device_address: str
    nearby_number: str
    access_point_number: str
    access_point_name: str
    area_number: str
    area_name: str
    place_source: str
    installation_date: dt.date | None
    source_row: int | None


@dataclass(frozen=True)
class EventRow:
    occurred_at: dt.datetime
    step_label: str
    kind: str
    kind_label: str
    actor_name: str
    note: str
    changes: tuple[tuple[str, str, str], ...] = ()  # (field, before, after) for people


@dataclass(frozen=True)
class DocumentRow:
    document_id: int
    kind_label: str
    original_name: str
    size: int
    uploaded_at: dt.datetime


@dataclass(frozen=True)
class OrderDetail:
    order: OrderRow
    unit_name: str
    group_id: int | None
    device_type: str
    steps: list[tuple[str, str, str]]  # (step, label, state: done/current/todo)
    application: dict[str, Any]
    lines: list[LineRow]
    events: list[EventRow]
    documents: list[DocumentRow]
    missing_documents: list[tuple[str, str]]
    contract: dict[str, Any] | None
    connection_date: dt.date | None
    closure_date: dt.date | None
    meter: dict[str, Any]
    grouping: GroupingCheck | None
    may_act: bool
    may_return: bool
    version: int
    may_edit_application: bool = False
    may_withdraw: bool = False
    withdrawn_at: dt.datetime | None = None
    withdrawal_reason: str = ""


def order_detail(*, user: User, order_id: int, as_of: dt.date) -> OrderDetail:
    from refmeter.workorders.models import REQUIRED_DOCUMENTS, DocumentKind

    order = order_get(user=user, order_id=order_id)
    steps = STEPS[order.kind]
    position = steps.index(order.step) if order.step in steps else len(steps)
    lines = [
        LineRow(
            line_id=line.pk,
            line_number=line.line_number,
            action=line.action,
            action_label=line.get_action_display(),
            is_base=line.is_base,
            account_number=line.account_number,
            name=line.name,
            device_address=line.device_address,
            nearby_number=line.nearby_number,
            access_point_number=line.access_point.number if line.access_point else "",
            access_point_name=line.access_point.name if line.access_point else "",
            area_number=line.area.number if line.area else "",
            area_name=line.area.name if line.area else "",
            place_source=line.place_source,
            installation_date=line.installation_date,
            source_row=line.source_row,
        )
        for line in order.lines.select_related("access_point", "area").order_by("line_number")
    ]
    documents = list(order.documents.all())
    present = {document.kind for document in documents}
    contract = Contract.objects.filter(order=order).first()
    return OrderDetail(
        order=order_rows(orders=[order])[0],
        unit_name=order.unit.name,
        group_id=order.group_id,
        device_type=order.device_type.name if order.device_type else "",
        steps=[
            (
                step,
                str(Step(step).label),
                "done" if index < position else "current" if index == position else "todo",
            )
            for index, step in enumerate(steps)
        ],
        application={
            "handler_name": order.handler_name,
            "handler_id_number": order.handler_id_number,
            "handler_phone": order.handler_phone,
            "sms_number": order.sms_number,
            "outage_contact_name": order.outage_contact_name,
            "outage_contact_phone": order.outage_contact_phone,
            "points_applied": order.points_applied,
            "note": order.note,
        },
        lines=lines,
        events=[
            EventRow(
                occurred_at=event.occurred_at,
                step_label=event.get_step_display(),
                kind=event.kind,
                kind_label=event.get_kind_display(),
                actor_name=event.actor_name,
                note=event.note,
                changes=tuple(
                    (
                        _change_label(field),
                        _change_value(field, before),
                        _change_value(field, after),
                    )
                    for field, before, after in event.changes
                    if event.kind in (EventKind.EDITED, EventKind.WITHDRAWN)
                ),
            )
            for event in order.events.all()
        ],
        documents=[
            DocumentRow(
                document_id=document.pk,
                kind_label=document.get_kind_display(),
                original_name=document.original_name,
                size=document.size,
                uploaded_at=document.uploaded_at,
            )
            for document in documents
        ],
        missing_documents=[
            (kind, str(DocumentKind(kind).label))
            for kind in REQUIRED_DOCUMENTS[order.kind]
            if kind not in present
        ],
        contract=(
            {
                "number": contract.number,
                "start_date": contract.start_date,
                "end_date": contract.end_date,
                "approved_by": contract.approved_by,
                "approved_date": contract.approved_date,
                "signed_date": contract.signed_date,
            }
            if contract
            else None
        ),
        connection_date=order.connection_date,
        closure_date=order.closure_date,
        meter={
            "meter_asset_number": order.meter_asset_number,
            "meter_barcode": order.meter_barcode,
            "meter_box_resource_number": order.meter_box_resource_number,
            "ct_ratio": order.ct_ratio,
            "tariff_code": order.tariff_code,
        },
        grouping=(
            grouping_check(order=order, as_of=as_of)
            if order.kind != "closure" and order.step in (Step.ACCEPTANCE, Step.SURVEY)
            else None
        ),
        may_act=order.step != Step.DONE and may_do_step(user=user, step=order.step),
        may_return=order.step not in (Step.DONE, Step.ACCEPTANCE, Step.ARCHIVE)
        and may_do_step(user=user, step=order.step),
        version=order.version,
        may_edit_application=order.step in (Step.ACCEPTANCE, Step.SURVEY)
        and may_correct_order(user=user, step=order.step),
        may_withdraw=order.step in WITHDRAWABLE[order.kind]
        and may_correct_order(user=user, step=order.step),
        withdrawn_at=order.withdrawn_at,
        withdrawal_reason=order.withdrawal_reason,
    )


def document_get(*, user: User, order_id: int, document_id: int) -> Any:
    from refmeter.workorders.models import ArchiveDocument

    order = order_get(user=user, order_id=order_id)
    document = ArchiveDocument.objects.filter(order=order, pk=document_id).first()
    if document is None:
        raise OrderNotVisible(_("未找到该归档资料。"))
    return document


def customers_for_new_install(*, user: User) -> list[tuple[int, str]]:
    from refmeter.registry.models import Customer

    return list(
        Customer.objects.filter(unit_scope(user=user)).order_by("name").values_list("pk", "name")
    )


def device_type_choices() -> list[tuple[int, str]]:
    from refmeter.registry.models import DeviceType

    return [(device.pk, str(device)) for device in DeviceType.objects.order_by("name")]


def _field_label(model: Any, name: str) -> str:
    return str(getattr(model._meta.get_field(name), "verbose_name", name))


def _change_label(field: str) -> str:
    """``connection_date``, ``contract.number``, ``line.3.installation_date`` for people."""
    parts = field.split(".")
    if parts[0] == "contract" and len(parts) == 2:
        return _field_label(Contract, parts[1])
    if field == "retired_account_numbers":
        return _("作废户号")
    if parts[0] == "line" and len(parts) == 3:
        return _("第 %(line)s 行%(field)s") % {
            "line": parts[1],
            "field": _field_label(WorkOrderLine, parts[2]),
        }
    return _field_label(WorkOrder, field)


def _change_value(field: str, value: str) -> str:
    return str(Step(value).label) if field == "step" and value in Step.values else value


def order_changes_since(*, order: WorkOrder, version: int) -> list[Meanwhile]:
    """What was done to the order after ``version`` was read, oldest first, for people."""
    return [
        Meanwhile(
            occurred_at=event.occurred_at,
            actor_name=event.actor_name,
            action=_("%(kind)s（%(step)s）")
            % {"kind": event.get_kind_display(), "step": event.get_step_display()},
            fields=tuple(
                (_change_label(field), _change_value(field, before), _change_value(field, after))
                for field, before, after in event.changes
            ),
            note=event.note,
        )
        for event in WorkOrderEvent.objects.filter(order=order, version__gt=version).order_by(
            "version", "id"
        )
    ]
