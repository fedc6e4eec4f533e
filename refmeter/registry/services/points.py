"""Sub-accounts: adding, activating, cancelling and editing the points of a group."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import audit_record, audit_record_many
from refmeter.common.text import clean_digits, clean_text
from refmeter.common.validators import FieldProblem
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import (
    AccessPoint,
    Group,
    GroupStatus,
    Point,
    PointKind,
    PointStatus,
    TransformerArea,
)
from refmeter.registry.selectors import RecordNotVisible, access_point_lookup
from refmeter.registry.services.account_numbers import account_numbers_issue
from refmeter.registry.services.base import (
    UnableToActivateSubAccount,
    UnableToAddSubAccounts,
    UnableToCancelSubAccount,
    UnableToUpdatePoint,
    _bump,
    _placement_move,
    _placements_open,
    _point_change,
    _point_snapshot,
    _require_version,
    _text,
)
from refmeter.registry.services.groups import (
    PointInput,
    _check_limit,
    _check_points,
    _running_group,
)


def sub_accounts_add(
    *,
    actor: User,
    group_id: int,
    points: Sequence[PointInput],
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
) -> list[Point]:
    """Register sub-accounts in a group, all or none; those with a date become active."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        group = _running_group(actor=actor, group_id=group_id)
        if group.status != GroupStatus.RUNNING:
            raise UnableToAddSubAccounts(_("群组已销户，不能新增虚拟子户。"))
        problems, resolved = _check_points(actor=actor, inputs=points, label_offset=1)
        limit_problem = _check_limit(
            group=group,
            new_intervals=[
                (item.active_from_date, None) for item in points if item.active_from_date
            ],
        )
        if limit_problem:
            problems.append(limit_problem)
        if problems:
            raise UnableToAddSubAccounts(problems)
        fresh_numbers = iter(
            account_numbers_issue(
                unit=group.unit,
                count=sum(1 for item in points if not clean_digits(item.account_number)),
            )
        )
        created = [
            Point(
                group=group,
                kind=PointKind.SUB,
                account_number=clean_digits(item.account_number) or next(fresh_numbers),
                name=clean_text(item.name),
                device_address=clean_text(item.device_address),
                nearby_number=clean_digits(item.nearby_number),
                access_point=access_point,
                area=access_point.area if access_point else None,
                status=PointStatus.ACTIVE if item.active_from_date else PointStatus.PENDING,
                active_from_date=item.active_from_date,
            )
            for item, access_point in resolved
        ]
        try:
            created = Point.objects.bulk_create(created, batch_size=1000)
        except IntegrityError as error:
            raise UnableToAddSubAccounts(_("户号冲突，请重试。")) from error
        if created and created[0].pk is None:
            # Databases that do not return keys from a bulk insert.
            numbers = [point.account_number for point in created]
            created = list(Point.objects.filter(account_number__in=numbers).order_by("pk"))
        _placements_open(created)
        audit_record_many(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            changes=[
                _point_change("point.create", point, {}, _point_snapshot(point))
                for point in created
            ],
        )
    return created


def _locked_point(*, actor: User, point_id: int) -> Point:
    point = (
        Point.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor, unit_field="group__unit"), pk=point_id)
        .select_related("group", "access_point", "area")
        .first()
    )
    if point is None:
        raise RecordNotVisible(_("未找到该用电点，或它不属于您所在单位及下属单位。"))
    return point


def sub_account_activate(
    *,
    actor: User,
    point_id: int,
    active_from_date: dt.date,
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
    expected_version: int | None = None,
) -> Point:
    """A registered sub-account starts drawing power (connection / installation date)."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        point = _locked_point(actor=actor, point_id=point_id)
        _require_version(point, expected_version)
        Group.objects.select_for_update().filter(pk=point.group_id).first()
        problems = []
        if point.kind != PointKind.SUB:
            problems.append(_("只有虚拟子户可以单独接电；基准户随群组立户。"))
        if point.status != PointStatus.PENDING:
            problems.append(
                _("户号 %(number)s 当前状态为“%(status)s”，不能接电。")
                % {"number": point.account_number, "status": point.get_status_display()}
            )
        if point.access_point_id is None or point.area_id is None:
            problems.append(
                _("户号 %(number)s 还没有接入点和台区，不能接电。")
                % {"number": point.account_number}
            )
        if point.group.status != GroupStatus.RUNNING:
            problems.append(_("群组已销户。"))
        limit_problem = _check_limit(group=point.group, new_intervals=[(active_from_date, None)])
        if limit_problem:
            problems.append(limit_problem)
        if problems:
            raise UnableToActivateSubAccount(problems)
        before = _point_snapshot(point)
        point.status = PointStatus.ACTIVE
        point.active_from_date = active_from_date
        point.save(update_fields=["status", "active_from_date"])
        _bump(point)
        _placements_open([point])
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            change=_point_change("point.activate", point, before, _point_snapshot(point)),
        )
    return point


def sub_account_cancel(
    *,
    actor: User,
    point_id: int,
    active_to_date: dt.date,
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
    expected_version: int | None = None,
) -> Point:
    """A sub-account stops: it is active up to, not including, ``active_to_date``."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        point = _locked_point(actor=actor, point_id=point_id)
        _require_version(point, expected_version)
        if point.kind != PointKind.SUB:
            raise UnableToCancelSubAccount(_("基准户不能单独取消；请通过销户流程关闭整个群组。"))
        if point.status == PointStatus.CANCELLED:
            raise UnableToCancelSubAccount(
                _("户号 %(number)s 已经取消。") % {"number": point.account_number}
            )
        if point.active_from_date is not None and active_to_date <= point.active_from_date:
            raise UnableToCancelSubAccount(
                _("停用日期 %(to)s 必须晚于接电日期 %(from)s。")
                % {"to": _text(active_to_date), "from": _text(point.active_from_date)}
            )
        before = _point_snapshot(point)
        point.status = PointStatus.CANCELLED
        if point.active_from_date is not None:
            point.active_to_date = active_to_date
        point.save(update_fields=["status", "active_to_date"])
        _bump(point)
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            change=_point_change("point.cancel", point, before, _point_snapshot(point)),
        )
    return point


def point_update(
    *,
    actor: User,
    point_id: int,
    now: dt.datetime,
    reason: str,
    work_order: str = "",
    name: str | None = None,
    device_address: str | None = None,
    area_number: str | None = None,
    access_point_number: str | None = None,
    effective_date: dt.date | None = None,
    expected_version: int | None = None,
) -> Point:
    """Edit a point's name, device address, transformer area and access point.

    The access point decides the area: an area given with it must be the
    access point's own. A move takes effect on ``effective_date`` (default: the
    day of ``now``), so line loss counts each part of the month in its own area.
    With ``expected_version`` the edit is refused if the point has been saved since
    that version was read.
    """
    require(user=actor, action=Action.EDIT_SUB_ACCOUNT)
    with transaction.atomic():
        point = _locked_point(actor=actor, point_id=point_id)
        _require_version(point, expected_version)
        problems: list[str] = []
        if point.group.status != GroupStatus.RUNNING or point.status == PointStatus.CANCELLED:
            problems.append(_("已销户或已取消的用电点不能修改。"))
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = clean_text(name)
            if not values["name"]:
                problems.append(FieldProblem(_("户名不能为空。"), field="name"))
        if device_address is not None:
            values["device_address"] = clean_text(device_address)
            if not values["device_address"]:
                problems.append(FieldProblem(_("设备地址不能为空。"), field="device_address"))
        area: TransformerArea | None = point.area
        access_point: AccessPoint | None = point.access_point
        if access_point_number is not None:
            if not clean_digits(access_point_number):
                if point.status == PointStatus.ACTIVE:
                    problems.append(
                        FieldProblem(_("在用的用电点必须有接入点。"), field="access_point_number")
                    )
                access_point = None
            else:
                access_point, problem = access_point_lookup(user=actor, number=access_point_number)
                if problem:
                    problems.append(FieldProblem(problem, field="access_point_number"))
        if area_number is not None:
            number = clean_digits(area_number)
            area = (
                TransformerArea.objects.filter(unit_scope(user=actor), number=number).first()
                if number
                else None
            )
            if number and area is None:
                problems.append(
                    FieldProblem(
                        _("台区 %(number)s 不存在或不属于您的单位。") % {"number": number},
                        field="area_number",
                    )
                )
            if not number and point.status == PointStatus.ACTIVE:
                problems.append(FieldProblem(_("在用的用电点必须有台区。"), field="area_number"))
        if access_point is not None and not problems:
            if area_number is not None and area is not None and access_point.area_id != area.pk:
                problems.append(
                    _("接入点 %(point)s 属于台区 %(actual)s，不属于台区 %(area)s。")
                    % {
                        "point": access_point.number,
                        "actual": access_point.area.number,
                        "area": area.number,
                    }
                )
            area = access_point.area
        if not clean_text(reason):
            problems.append(FieldProblem(_("请填写修改原因。"), field="reason"))
        if problems:
            raise UnableToUpdatePoint(problems)
        before = _point_snapshot(point)
        for field, value in values.items():
            setattr(point, field, value)
        point.access_point = access_point
        point.area = area
        after = _point_snapshot(point)
        if after == before:
            return point
        point.save(update_fields=[*values.keys(), "access_point", "area"])
        _bump(point)
        if (before["area"], before["access_point"]) != (after["area"], after["access_point"]):
            _placement_move(point, effective_date=effective_date or timezone.localdate(now))
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=clean_text(reason),
            work_order=work_order,
            change=_point_change("point.update", point, before, after),
        )
    return point
