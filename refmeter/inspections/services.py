"""Periodic inspections: the half-year plan, what field staff find, and what follows from it."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyKind
from refmeter.anomalies.services import anomaly_case_open_by_hand
from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_text
from refmeter.inspections.models import (
    Finding,
    FollowUp,
    FollowUpKind,
    InspectionPhoto,
    InspectionPlan,
    InspectionResult,
    InspectionTarget,
)
from refmeter.inspections.photos import CheckedPhoto, UnacceptablePhoto, Upload, photos_check
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require, role_may
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.registry.models import Point
from refmeter.registry.selectors import RecordNotVisible, active_on_filter
from refmeter.workorders.services import order_change_from_finding


class UnableToRecordInspection(Exception):
    pass


def may_inspect(*, user: User) -> bool:
    return role_may(user=user, action=Action.RECORD_INSPECTION)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def inspection_plan_create(
    *,
    actor: User,
    unit: SupplyUnit,
    period_start: dt.date,
    now: dt.datetime,
    seed: int | None = None,
    fraction: Decimal = Decimal("0.2"),
) -> InspectionPlan:
    """Sample at least ``fraction`` of each customer's active points, every (group, area)
    stratum at least its share rounded up, reproducibly from the recorded seed."""
    require(user=actor, action=Action.PLAN_INSPECTIONS)
    if not unit_is_visible(user=actor, unit=unit):
        raise RecordNotVisible(_("您无权操作其他单位的数据。"))
    if not (Decimal("0.2") <= fraction <= 1):
        raise UnableToRecordInspection(_("抽检比例不能低于 1/5。"))
    seed = seed if seed is not None else int(now.timestamp())
    points = (
        Point.objects.filter(
            active_on_filter(period_start), group__unit__path__startswith=unit.path
        )
        .values_list("pk", "group__customer_id", "group_id", "area_id")
        .order_by("account_number")
    )
    strata: dict[int, dict[tuple[int, int | None], list[int]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for point_id, customer, group, area in points:
        strata[customer][(group, area)].append(point_id)
    rng = random.Random(seed)
    chosen: list[InspectionTarget] = []
    with transaction.atomic():
        plan = InspectionPlan.objects.create(
            unit=unit, period_start=period_start, period_end=_add_months(period_start, 6),
            fraction=fraction, seed=seed, created_by=actor, created_at=now,
        )  # fmt: skip
        for customer_id in sorted(strata):
            cells = strata[customer_id]
            for (group_id, area_id), take in _allocate(cells, fraction, rng).items():
                for point_id in sorted(rng.sample(cells[(group_id, area_id)], take)):
                    chosen.append(
                        InspectionTarget(
                            plan=plan, point_id=point_id, customer_id=customer_id,
                            group_id=group_id, area_id=area_id,
                        )
                    )  # fmt: skip
        InspectionTarget.objects.bulk_create(chosen, batch_size=2000)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="inspection_plan.create", subject_type="inspection_plan",
                subject_id=plan.pk, subject_label=f"{unit.name} {period_start}",
                after={"targets": len(chosen), "seed": seed, "fraction": str(fraction)},
            ),
        )  # fmt: skip
    return plan


def _allocate(
    cells: dict[tuple[int, int | None], list[int]], fraction: Decimal, rng: random.Random
) -> dict[tuple[int, int | None], int]:
    """A customer's sample size, ceil(points x fraction), shared among its (group, area)
    strata in proportion to their size; the remainders go to the largest fractions, ties
    broken by the seeded generator."""
    total = sum(len(members) for members in cells.values())
    size = math.ceil(total * fraction)
    keys = sorted(cells, key=lambda key: (key[0], key[1] or 0))
    exact = {key: Decimal(len(cells[key]) * size) / total for key in keys}
    shares = {key: int(exact[key]) for key in keys}
    order = sorted(keys, key=lambda key: (-(exact[key] - shares[key]), rng.random()))
    for key in order[: size - sum(shares.values())]:
        shares[key] += 1
    return {key: take for key, take in shares.items() if take}


def inspection_result_record(
    *,
    actor: User,
    point_id: int,
    finding: str,
    note: str,
    now: dt.datetime,
    label_serial: int | None = None,
    found_location: str = "",
    found_count: int = 0,
    photos: list[Upload] | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> InspectionResult:
    """Record a finding at a point; it counts for any open plan the point is in, and starts
    what must follow: a theft check, a change order, a multiplier-mismatch case. Photos are
    checked as a whole first: one refused photo refuses the finding, and nothing is kept."""
    require(user=actor, action=Action.RECORD_INSPECTION)
    if finding not in Finding.values:
        raise UnableToRecordInspection(_("请选择检查结果。"))
    if finding == Finding.OTHER and not clean_text(note):
        raise UnableToRecordInspection(_("选择“其他情况”时请填写说明。"))
    if finding == Finding.UNREGISTERED and (not clean_text(found_location) or found_count < 1):
        raise UnableToRecordInspection(_("发现未登记点位时请填写位置和数量。"))
    _position_check(latitude, longitude)
    try:
        checked = photos_check(list(photos or []))
    except UnacceptablePhoto as refused:
        raise UnableToRecordInspection(str(refused)) from refused
    stored: list[str] = []
    try:
        with transaction.atomic():
            result = _record(
                actor=actor, point_id=point_id, finding=finding, note=note, now=now,
                label_serial=label_serial, found_location=found_location,
                found_count=found_count, latitude=latitude, longitude=longitude,
            )  # fmt: skip
            _photos_store(result, checked, stored=stored, now=now)
    except BaseException:
        # The finding was not written: the files saved for it go too.
        for name in stored:
            default_storage.delete(name)
        raise
    return result


def _position_check(latitude: Decimal | None, longitude: Decimal | None) -> None:
    if (latitude is None) != (longitude is None):
        raise UnableToRecordInspection(_("位置须同时有纬度和经度。"))
    if (
        latitude is not None
        and longitude is not None
        and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        raise UnableToRecordInspection(
            _("位置不正确：纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间。")
        )


def _photos_store(
    result: InspectionResult, checked: list[CheckedPhoto], *, stored: list[str], now: dt.datetime
) -> None:
    folder = f"inspections/{now:%Y/%m}"
    for index, photo in enumerate(checked, start=1):
        stem = f"{folder}/{result.pk}-{index}"
        name = default_storage.save(f"{stem}.{photo.extension}", ContentFile(photo.content))
        stored.append(name)
        thumbnail = default_storage.save(f"{stem}-thumb.jpg", ContentFile(photo.thumbnail))
        stored.append(thumbnail)
        InspectionPhoto.objects.create(
            result=result, file=name, thumbnail=thumbnail, content_type=photo.content_type,
            size=len(photo.content), width=photo.width, height=photo.height,
            original_name=photo.original_name,
        )  # fmt: skip


def _record(
    *,
    actor: User,
    point_id: int,
    finding: str,
    note: str,
    now: dt.datetime,
    label_serial: int | None,
    found_location: str,
    found_count: int,
    latitude: Decimal | None,
    longitude: Decimal | None,
) -> InspectionResult:
    point = (
        Point.objects.filter(unit_scope(user=actor, unit_field="group__unit"), pk=point_id)
        .select_related("group")
        .first()
    )
    if point is None:
        raise RecordNotVisible(_("未找到该用电点，或它不属于您所在单位及下属单位。"))
    result = InspectionResult.objects.create(
        point=point, finding=finding, note=clean_text(note), label_serial=label_serial,
        found_location=clean_text(found_location), found_count=found_count,
        recorded_by=actor, recorded_at=now, latitude=latitude, longitude=longitude,
    )  # fmt: skip
    InspectionTarget.objects.filter(
        point=point, result__isnull=True, plan__period_start__lte=now.date(),
        plan__period_end__gt=now.date(),
    ).update(result=result)  # fmt: skip
    _follow_up(result, point, actor=actor, now=now)
    audit_record(
        actor=actor,
        occurred_at=now,
        reason=_("现场检查"),
        change=AuditChange(
            action="inspection.record", subject_type="point", subject_id=point.pk,
            subject_label=f"{point.account_number} {point.name}", parent_type="group",
            parent_id=point.group_id,
            after={"finding": finding, "note": result.note,
                   "found_location": result.found_location, "found_count": found_count,
                   "latitude": str(latitude) if latitude is not None else None,
                   "longitude": str(longitude) if longitude is not None else None},
        ),
    )  # fmt: skip
    return result


def _follow_up(result: InspectionResult, point: Point, *, actor: User, now: dt.datetime) -> None:
    follow_ups = []
    where = f"{point.account_number} {point.name}"
    if result.finding == Finding.SEAL_MISSING:
        case = anomaly_case_open_by_hand(
            actor=actor, group_id=point.group_id, kind=AnomalyKind.THEFT, since=now.date(),
            note=_("现场检查发现接线无封印：%(point)s。%(note)s") % {"point": where, "note": result.note},
            now=now, account_number=point.account_number,
        )  # fmt: skip
        follow_ups.append(
            FollowUp(result=result, kind=FollowUpKind.THEFT_CASE, reference=str(case.pk))
        )
    if result.finding in (Finding.POINT_MISSING, Finding.UNREGISTERED):
        text = (
            _("现场检查：点位 %(point)s 不存在，需取消。") % {"point": where}
            if result.finding == Finding.POINT_MISSING
            else _("现场检查：在 %(location)s 发现 %(count)d 个未登记点位，需新增。")
            % {"location": result.found_location, "count": result.found_count}
        )
        order = order_change_from_finding(actor=actor, group_id=point.group_id, note=text, now=now)
        follow_ups.append(
            FollowUp(result=result, kind=FollowUpKind.CHANGE_ORDER, reference=order.number)
        )
    if result.finding == Finding.UNREGISTERED:
        case = anomaly_case_open_by_hand(
            actor=actor, group_id=point.group_id, kind=AnomalyKind.MULTIPLIER, since=now.date(),
            note=_("在 %(location)s 发现 %(count)d 个未登记点位。")
            % {"location": result.found_location, "count": result.found_count},
            now=now, account_number=point.account_number,
            evidence={"unregistered_points": result.found_count, "location": result.found_location},
        )  # fmt: skip
        follow_ups.append(
            FollowUp(result=result, kind=FollowUpKind.MULTIPLIER_CASE, reference=str(case.pk))
        )
    FollowUp.objects.bulk_create(follow_ups)
