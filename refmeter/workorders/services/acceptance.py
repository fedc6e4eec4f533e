"""Acceptance: the order's list of points, its base line and its change lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.text import clean_digits, clean_text
from refmeter.organisations.models import User
from refmeter.registry.models import Point, PointKind, PointStatus
from refmeter.registry.selectors import access_point_lookup
from refmeter.spreadsheets.application_list import CellProblem, parse_application_list
from refmeter.spreadsheets.selectors import application_list_check
from refmeter.workorders.models import EventKind, LineAction, OrderKind, Step, WorkOrderLine
from refmeter.workorders.selectors import grouping_check
from refmeter.workorders.services.base import UnableToProgressOrder, _event, _locked_order, _text

# ---------------------------------------------------------------- acceptance: the list


@dataclass(frozen=True)
class ImportSummary:
    adding: int
    cancelling: int
    grouping: str


def order_lines_import(
    *,
    actor: User,
    order_id: int,
    rows: list[list[object]],
    now: dt.datetime,
    expected_version: int | None = None,
) -> ImportSummary:
    """Replace the order's add/cancel lines with the customer's application list.

    Every problem in the list is reported at once, by row and column; nothing is
    written unless the whole list is right.
    """
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.ACCEPTANCE, expected_version=expected_version
        )
        if order.kind == OrderKind.CLOSURE:
            raise UnableToProgressOrder(_("销户工单不需要接电申请清单。"))
        parsed = parse_application_list(rows)
        # What only the order knows: the list's header against the order's group and type.
        problems: list[CellProblem] = []
        group = order.group if order.group_id else None
        if group is not None:
            base_number = (
                Point.objects.filter(group=group, kind=PointKind.BASE)
                .values_list("account_number", flat=True)
                .first()
                or ""
            )
            if parsed.base_account_number and parsed.base_account_number != base_number:
                problems.append(
                    CellProblem(
                        0,
                        "",
                        "",
                        _("清单表头的虚拟户号 %(listed)s 与本群组基准户 %(base)s 不一致。")
                        % {"listed": parsed.base_account_number, "base": base_number},
                    )
                )
        device_type = order.device_type
        if (
            parsed.device_type
            and device_type
            and parsed.device_type not in device_type.name
            and device_type.name not in parsed.device_type
        ):
            problems.append(
                CellProblem(
                    0,
                    "",
                    "",
                    _("清单表头的设备类型“%(listed)s”与工单的设备类型“%(type)s”不一致。")
                    % {"listed": parsed.device_type, "type": device_type.name},
                )
            )
        # Everything else is the same check as `refmeter check-list`.
        check = application_list_check(parsed=parsed, group=group, user=actor)
        problems.extend(check.problems)
        adding, cancelling, cancel_targets = check.adding, check.cancelling, check.cancel_targets
        if problems:
            raise UnableToProgressOrder([str(problem) for problem in problems])
        WorkOrderLine.objects.filter(
            order=order, action__in=[LineAction.ADD, LineAction.CANCEL]
        ).delete()
        start = (
            WorkOrderLine.objects.filter(order=order)
            .order_by("-line_number")
            .values_list("line_number", flat=True)
            .first()
            or 0
        )
        lines = []
        for offset, line in enumerate(parsed.lines, start=1):
            target = cancel_targets.get(line.row_number)
            lines.append(
                WorkOrderLine(
                    order=order,
                    line_number=start + offset,
                    action=LineAction.ADD if line.action == "add" else LineAction.CANCEL,
                    is_base=order.kind == OrderKind.NEW_INSTALL and offset == 1,
                    point=target,
                    name=line.name,
                    device_address=line.position,
                    nearby_number=line.nearby_number,
                    source_row=line.row_number,
                    account_number=target.account_number if target else "",
                    access_point=target.access_point if target else None,
                    area=target.area if target else None,
                )
            )
        WorkOrderLine.objects.bulk_create(lines)
        changes = [("points_applied", _text(order.points_applied), _text(adding))]
        order.points_applied = adding
        order.save(update_fields=["points_applied"])
        grouping = grouping_check(order=order, as_of=now.date())
        _event(
            order,
            actor=actor,
            kind=EventKind.NOTE,
            now=now,
            note=_("导入接电申请清单：新增 %(add)d 个，取消 %(cancel)d 个。")
            % {"add": adding, "cancel": cancelling},
            changes=changes,
        )
    return ImportSummary(adding=adding, cancelling=cancelling, grouping=grouping.message)


def order_base_line_choose(
    *,
    actor: User,
    order_id: int,
    line_id: int,
    now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    """For a new install: which of the new points gets the reference meter."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor,
            order_id=order_id,
            step=[Step.ACCEPTANCE, Step.SURVEY],
            expected_version=expected_version,
        )
        line = order.lines.filter(pk=line_id, action=LineAction.ADD).first()
        if order.kind != OrderKind.NEW_INSTALL or line is None:
            raise UnableToProgressOrder(_("只有新装工单的新增点位可以设为基准户。"))
        order.lines.update(is_base=False)
        WorkOrderLine.objects.filter(pk=line.pk).update(is_base=True)
        _event(order, actor=actor, kind=EventKind.NOTE, now=now,
               note=_("设为基准户：%(name)s") % {"name": line.name})  # fmt: skip


def order_change_line_add(
    *,
    actor: User,
    order_id: int,
    account_number: str,
    now: dt.datetime,
    name: str = "",
    device_address: str = "",
    access_point_number: str = "",
    expected_version: int | None = None,
) -> WorkOrderLine:
    """A change of an existing point's name, address or place (a move), within a change order."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor,
            order_id=order_id,
            step=[Step.ACCEPTANCE, Step.SURVEY],
            expected_version=expected_version,
        )
        if order.kind != OrderKind.CHANGE:
            raise UnableToProgressOrder(_("只有变更工单可以修改点位信息。"))
        number = clean_digits(account_number)
        point = (
            Point.objects.filter(group=order.group, account_number=number)
            .exclude(status=PointStatus.CANCELLED)
            .select_related("access_point", "area")
            .first()
        )
        problems = []
        if point is None:
            problems.append(_("户号 %(number)s 不是本群组的在用用电点。") % {"number": number})
        access_point = None
        if clean_digits(access_point_number):
            access_point, problem = access_point_lookup(user=actor, number=access_point_number)
            if problem:
                problems.append(problem)
        if problems:
            raise UnableToProgressOrder(problems)
        assert point is not None
        if order.lines.filter(point=point).exists():
            raise UnableToProgressOrder(
                _("户号 %(number)s 已在本工单中。") % {"number": point.account_number}
            )
        last = order.lines.order_by("-line_number").values_list("line_number", flat=True).first()
        place = access_point or point.access_point
        line = WorkOrderLine.objects.create(
            order=order,
            line_number=(last or 0) + 1,
            action=LineAction.CHANGE,
            point=point,
            account_number=point.account_number,
            name=clean_text(name) or point.name,
            device_address=clean_text(device_address) or point.device_address,
            nearby_number=point.nearby_number,
            access_point=place,
            area=place.area if place else None,
            place_source="manual" if access_point else "",
        )
        _event(order, actor=actor, kind=EventKind.NOTE, now=now,
               note=_("变更点位信息：%(number)s") % {"number": point.account_number})  # fmt: skip
    return line
