"""Groups: creating, closing and editing a reference-meter group and its terms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record, audit_record_many
from refmeter.common.bulk import lookup_batches
from refmeter.common.text import clean_digits, clean_text, is_digits
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    DeviceType,
    FinalBillRequest,
    Group,
    GroupStatus,
    GroupTerms,
    Point,
    PointKind,
    PointStatus,
    RetiredAccountNumber,
)
from refmeter.registry.selectors import (
    PlaceRef,
    RecordNotVisible,
    access_point_number_problem,
    max_concurrent,
)
from refmeter.registry.services.account_numbers import account_numbers_issue
from refmeter.registry.services.base import (
    UnableToChangeRegistry,
    UnableToCreateGroup,
    _bump,
    _placements_open,
    _point_change,
    _point_snapshot,
    _require_unit,
    _require_version,
    _text,
)
from refmeter.registry.services.nearby_numbers import nearby_resolve

# ---------------------------------------------------------------- groups and points


@dataclass(frozen=True)
class PointInput:
    """One point to register. Empty ``account_number`` means: issue a new one.

    The place comes from ``access_point_number`` or, failing that, from the
    nearby-number index. With ``active_from_date`` the point is active from
    that day (it must then have a place).
    """

    name: str
    device_address: str
    nearby_number: str = ""
    access_point_number: str = ""
    account_number: str = ""
    active_from_date: dt.date | None = None


def _check_points(
    *,
    actor: User,
    inputs: Sequence[PointInput],
    label_offset: int,
) -> tuple[list[str], list[tuple[PointInput, AccessPoint | None]]]:
    """Validate point inputs as a whole; returns the problems and the resolved places."""
    problems, places = check_point_inputs(
        actor=actor,
        inputs=inputs,
        where=lambda index: _("第 %(row)d 个用电点") % {"row": index + label_offset},
    )
    # Without given places every place is read as an AccessPoint with its area.
    return [problem for found in problems for problem in found], list(
        zip(inputs, cast(list[AccessPoint | None], places), strict=True)
    )


def check_point_inputs(
    *,
    actor: User,
    inputs: Sequence[PointInput],
    where: Callable[[int], str],
    places: Mapping[str, AccessPoint | PlaceRef] | None = None,
) -> tuple[list[list[str]], list[AccessPoint | PlaceRef | None]]:
    """Validate point inputs as a whole (account numbers unique here and in the registry,
    places the actor's): each input's problems, named by ``where(index)``, and its place.
    The registry is read a few times per batch of inputs, whatever their number;
    ``places`` are access points (with their areas) already read within the actor's
    scope, so that a load of a whole city does not read them twice."""
    place_numbers = [clean_digits(item.access_point_number) for item in inputs]
    access_points: dict[str, AccessPoint | PlaceRef] = {}
    wanted_places = {number for number in place_numbers if number}
    if places is not None:
        access_points = {number: places[number] for number in wanted_places if number in places}
        wanted_places -= set(access_points)
    for batch in lookup_batches(wanted_places):
        access_points.update(
            (access_point.number, access_point)
            for access_point in AccessPoint.objects.filter(
                unit_scope(user=actor, unit_field="area__unit"), number__any_of=batch
            ).select_related("area")
        )
    nearby = sorted({clean_digits(item.nearby_number) for item in inputs if item.nearby_number})
    by_nearby: dict[str, AccessPoint] = {}
    for batch in lookup_batches(nearby):
        by_nearby.update(nearby_resolve(numbers=batch))
    requested_numbers = [clean_digits(item.account_number) for item in inputs]
    wanted = sorted({number for number in requested_numbers if number})
    taken: set[str] = set()
    retired: set[str] = set()
    for batch in lookup_batches(wanted):
        taken.update(
            Point.objects.filter(account_number__any_of=batch).values_list(
                "account_number", flat=True
            )
        )
        retired.update(
            RetiredAccountNumber.objects.filter(number__any_of=batch).values_list(
                "number", flat=True
            )
        )
    problems: list[list[str]] = []
    resolved: list[AccessPoint | PlaceRef | None] = []
    seen: set[str] = set()
    for index, item in enumerate(inputs):
        found: list[str] = []
        problems.append(found)
        account_number = requested_numbers[index]
        if not clean_text(item.name):
            found.append(_("%(where)s：户名不能为空。") % {"where": where(index)})
        if not clean_text(item.device_address):
            found.append(_("%(where)s：设备地址不能为空。") % {"where": where(index)})
        if account_number:
            if not is_digits(account_number, 10):
                found.append(
                    _("%(where)s：户号应为 10 位数字，“%(number)s”不是。")
                    % {"where": where(index), "number": account_number}
                )
            elif account_number in taken or account_number in seen:
                found.append(
                    _("%(where)s：户号 %(number)s 已被使用，户号不能重复。")
                    % {"where": where(index), "number": account_number}
                )
            elif account_number in retired:
                found.append(
                    _("%(where)s：户号 %(number)s 已随撤销的工单作废，不能再使用。")
                    % {"where": where(index), "number": account_number}
                )
            seen.add(account_number)
        access_point: AccessPoint | PlaceRef | None = None
        place_number = place_numbers[index]
        if place_number:
            problem = access_point_number_problem(place_number)
            if problem:
                found.append(f"{where(index)}：{problem}")
            elif place_number not in access_points:
                found.append(
                    _("%(where)s：接入点 %(number)s 不存在或不属于您的单位。")
                    % {"where": where(index), "number": place_number}
                )
            else:
                access_point = access_points[place_number]
        elif item.nearby_number:
            access_point = by_nearby.get(clean_digits(item.nearby_number))
        if item.active_from_date is not None and access_point is None and not place_number:
            found.append(
                _("%(where)s：没有接入点和台区的用电点不能接电（启用）。") % {"where": where(index)}
            )
        resolved.append(access_point)
    return problems, resolved


def _check_limit(
    *,
    group: Group,
    new_intervals: Sequence[tuple[dt.date, dt.date | None]],
    excluding_point_ids: Sequence[int] = (),
) -> str | None:
    if not new_intervals:
        return None
    limit = settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS
    existing = [
        (start, end)
        for start, end in Point.objects.filter(
            group=group, kind=PointKind.SUB, active_from_date__isnull=False
        )
        .exclude(pk__in=list(excluding_point_ids))
        .values_list("active_from_date", "active_to_date")
        if start is not None
    ]
    earliest = min(start for start, _end in new_intervals)
    peak, peak_day = max_concurrent([*existing, *new_intervals], from_date=earliest)
    if peak > limit:
        return _(
            "群组在 %(day)s 将有 %(count)d 个在用虚拟子户，超过上限 %(limit)d 个；"
            "超出部分请申请新的参考表（新群组）。"
        ) % {"day": _text(peak_day), "count": peak, "limit": limit}
    return None


def group_create(
    *,
    actor: User,
    unit: SupplyUnit,
    customer: Customer,
    device_type: DeviceType,
    meter_asset_number: str,
    meter_install_date: dt.date,
    created_date: dt.date,
    base: PointInput,
    now: dt.datetime,
    tariff_code: str = "",
    meter_barcode: str = "",
    meter_box_resource_number: str = "",
    ct_ratio: int = 1,
    reason: str = "",
    work_order: str = "",
) -> Group:
    """A new group with its base account (the point with the reference meter)."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, unit)
    problems: list[str] = []
    if customer.unit_id != unit.pk:
        problems.append(_("客户与群组必须属于同一供电单位。"))
    meter_asset_number = clean_digits(meter_asset_number)
    if not meter_asset_number:
        problems.append(_("参考表资产编号不能为空。"))
    elif Group.objects.filter(meter_asset_number=meter_asset_number).exists():
        problems.append(_("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter_asset_number})
    if ct_ratio < 1:
        problems.append(_("互感器倍率必须是正整数。"))
    point_problems, resolved = _check_points(actor=actor, inputs=[base], label_offset=1)
    problems.extend(point_problems)
    if problems:
        raise UnableToCreateGroup(problems)
    item, access_point = resolved[0]
    with transaction.atomic():
        group = Group.objects.create(
            unit=unit,
            customer=customer,
            device_type=device_type,
            tariff_code=clean_text(tariff_code),
            meter_asset_number=meter_asset_number,
            meter_barcode=clean_text(meter_barcode),
            meter_box_resource_number=clean_text(meter_box_resource_number),
            ct_ratio=ct_ratio,
            meter_install_date=meter_install_date,
            created_date=created_date,
        )
        GroupTerms.objects.create(
            group=group, from_date=created_date, ct_ratio=ct_ratio, tariff_code=group.tariff_code
        )
        account_number = (
            clean_digits(item.account_number) or account_numbers_issue(unit=unit, count=1)[0]
        )
        point = Point.objects.create(
            group=group,
            kind=PointKind.BASE,
            account_number=account_number,
            name=clean_text(item.name),
            device_address=clean_text(item.device_address),
            nearby_number=clean_digits(item.nearby_number),
            access_point=access_point,
            area=access_point.area if access_point else None,
            status=PointStatus.ACTIVE if item.active_from_date else PointStatus.PENDING,
            active_from_date=item.active_from_date,
        )
        _placements_open([point])
        audit_record_many(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            changes=[
                AuditChange(
                    action="group.create",
                    subject_type="group",
                    subject_id=group.pk,
                    subject_label=f"{account_number} {customer.name}",
                    after={
                        "customer": customer.name,
                        "device_type": device_type.name,
                        "meter_asset_number": meter_asset_number,
                        "ct_ratio": str(ct_ratio),
                        "created_date": _text(created_date),
                    },
                ),
                _point_change("point.create", point, {}, _point_snapshot(point)),
            ],
        )
    return group


def _running_group(*, actor: User, group_id: int) -> Group:
    group = (
        Group.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor), pk=group_id)
        .select_related("unit")
        .first()
    )
    if group is None:
        raise RecordNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    return group


class UnableToCloseGroup(UnableToChangeRegistry):
    pass


class UnableToUpdateGroup(UnableToChangeRegistry):
    pass


def group_close(
    *,
    actor: User,
    group_id: int,
    closure_date: dt.date,
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
    expected_version: int | None = None,
) -> Group:
    """Close the base account and every sub-account on ``closure_date``; the group is dissolved
    and a final-bill request is recorded for billing."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        group = _running_group(actor=actor, group_id=group_id)
        _require_version(group, expected_version)
        if group.status != GroupStatus.RUNNING:
            raise UnableToCloseGroup(_("群组已经销户。"))
        points = list(
            Point.objects.select_for_update(of=("self",))
            .filter(group=group)
            .exclude(status=PointStatus.CANCELLED)
            .select_related("access_point", "area")
        )
        late = [
            point.account_number
            for point in points
            if point.active_from_date is not None and point.active_from_date >= closure_date
        ]
        if late:
            raise UnableToCloseGroup(
                _("销户日期 %(day)s 必须晚于所有用电点的接电日期（%(points)s）。")
                % {"day": _text(closure_date), "points": "、".join(late[:10])}
            )
        changes = []
        for point in points:
            before = _point_snapshot(point)
            point.status = PointStatus.CANCELLED
            if point.active_from_date is not None:
                point.active_to_date = closure_date
            changes.append(_point_change("point.close", point, before, _point_snapshot(point)))
        Point.objects.bulk_update(points, ["status", "active_to_date"], batch_size=1000)
        # The points are locked: each one's version goes up by one.
        Point.objects.filter(pk__in=[point.pk for point in points]).update(version=F("version") + 1)
        for point in points:
            point.version += 1
        group.status = GroupStatus.CLOSED
        group.closed_date = closure_date
        group.save(update_fields=["status", "closed_date"])
        _bump(group)
        FinalBillRequest.objects.create(
            group=group, closure_date=closure_date, requested_at=now, work_order=work_order
        )
        changes.append(
            AuditChange(
                action="group.close",
                subject_type="group",
                subject_id=group.pk,
                subject_label=group.meter_asset_number,
                before={"status": GroupStatus.RUNNING},
                after={"status": GroupStatus.CLOSED, "closed_date": _text(closure_date)},
            )
        )
        audit_record_many(
            actor=actor, occurred_at=now, reason=reason, work_order=work_order, changes=changes
        )
    return group


GROUP_EDITABLE_FIELDS = (
    "tariff_code",
    "meter_asset_number",
    "meter_barcode",
    "meter_box_resource_number",
    "ct_ratio",
    "meter_install_date",
)


def group_update(
    *,
    actor: User,
    group_id: int,
    now: dt.datetime,
    reason: str,
    work_order: str = "",
    terms_from_date: dt.date | None = None,
    expected_version: int | None = None,
    **values: Any,
) -> Group:
    """Change the reference meter's data or the tariff of a running group.

    A new CT ratio or tariff code holds from ``terms_from_date`` on and is kept as history
    (``GroupTerms``): billing uses the old values for the days before it. With
    ``expected_version`` the change is refused if the group has been saved since."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    unknown = set(values) - set(GROUP_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        group = _running_group(actor=actor, group_id=group_id)
        _require_version(group, expected_version)
        problems = []
        if group.status != GroupStatus.RUNNING:
            problems.append(_("群组已销户。"))
        meter = values.get("meter_asset_number")
        if meter is not None:
            meter = clean_digits(meter)
            values["meter_asset_number"] = meter
            if not meter:
                problems.append(_("参考表资产编号不能为空。"))
            elif Group.objects.filter(meter_asset_number=meter).exclude(pk=group.pk).exists():
                problems.append(_("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter})
        if values.get("ct_ratio") is not None and int(values["ct_ratio"]) < 1:
            problems.append(_("互感器倍率必须是正整数。"))
        if "tariff_code" in values:
            values["tariff_code"] = clean_text(values["tariff_code"])
        before = {field: _text(getattr(group, field)) for field in values}
        # A dated change is compared with what held on its date, not with today's values.
        held = _terms_on(group, terms_from_date) if terms_from_date else None
        if held is not None:
            before.update(
                {field: _text(getattr(held, field)) for field in TERMS_FIELDS if field in values}
            )
        terms_changed = [
            field
            for field in TERMS_FIELDS
            if field in values and _text(values[field]) != before[field]
        ]
        today = timezone.localtime(now).date()
        if terms_changed and terms_from_date is None:
            problems.append(_("变更互感器倍率或电价代码须填写执行日期。"))
        elif terms_changed and terms_from_date and terms_from_date < group.created_date:
            problems.append(
                _("执行日期不能早于立户日期 %(day)s。") % {"day": group.created_date.isoformat()}
            )
        elif terms_changed and terms_from_date and terms_from_date > today:
            problems.append(
                _("执行日期不能晚于今天（%(today)s）：请在生效后再登记。")
                % {"today": today.isoformat()}
            )
        if problems:
            raise UnableToUpdateGroup(problems)
        for field, value in values.items():
            setattr(group, field, value)
        after = {field: _text(getattr(group, field)) for field in values}
        changed = [field for field in values if before[field] != after[field]]
        if not changed:
            return group
        if terms_changed:
            assert terms_from_date is not None
            changed += _terms_change(group=group, values=values, from_date=terms_from_date)
            after["terms_from_date"] = _text(terms_from_date)
        group.save(update_fields=sorted(set(changed) - {"terms_from_date"}))
        _bump(group)
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            change=AuditChange(
                action="group.update",
                subject_type="group",
                subject_id=group.pk,
                subject_label=group.meter_asset_number,
                before={field: before[field] for field in changed if field in before},
                after={
                    field: after[field]
                    for field in after
                    if field in changed or field == "terms_from_date"
                },
            ),
        )
    return group


TERMS_FIELDS = ("ct_ratio", "tariff_code")


def _terms_on(group: Group, day: dt.date) -> GroupTerms | None:
    return GroupTerms.objects.filter(group=group, from_date__lte=day).order_by("-from_date").first()


def _terms_change(*, group: Group, values: dict[str, Any], from_date: dt.date) -> list[str]:
    """Record the CT ratio and tariff code from ``from_date`` on; the group keeps the
    latest row's values. Returns the group fields that this changed."""
    rows = list(GroupTerms.objects.filter(group=group).order_by("from_date"))
    in_force = next((row for row in reversed(rows) if row.from_date <= from_date), None)
    ct_ratio = int(values.get("ct_ratio", in_force.ct_ratio if in_force else group.ct_ratio))
    tariff_code = values.get("tariff_code", in_force.tariff_code if in_force else group.tariff_code)
    GroupTerms.objects.update_or_create(
        group=group,
        from_date=from_date,
        defaults={"ct_ratio": ct_ratio, "tariff_code": tariff_code},
    )
    latest = GroupTerms.objects.filter(group=group).order_by("-from_date").first()
    assert latest is not None
    group.ct_ratio, group.tariff_code = latest.ct_ratio, latest.tariff_code
    return ["ct_ratio", "tariff_code"]
