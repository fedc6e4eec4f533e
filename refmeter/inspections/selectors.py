from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from refmeter.inspections.models import (
    InspectionPhoto,
    InspectionPlan,
    InspectionResult,
    InspectionTarget,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.selectors import RecordNotVisible


@dataclass(frozen=True)
class PhotoLine:
    photo_id: int
    original_name: str
    width: int
    height: int


@dataclass(frozen=True)
class InspectionLine:
    recorded_at: dt.datetime
    finding: str
    finding_label: str
    note: str
    recorded_by: str
    latitude: Decimal | None
    longitude: Decimal | None
    photos: list[PhotoLine]


def point_inspections(*, point_id: int, limit: int = 20) -> list[InspectionLine]:
    """The point's latest findings with their photos and position (two queries)."""
    results = (
        InspectionResult.objects.filter(point_id=point_id)
        .select_related("recorded_by")
        .prefetch_related("photos")[:limit]
    )
    return [
        InspectionLine(
            recorded_at=result.recorded_at,
            finding=result.finding,
            finding_label=result.get_finding_display(),
            note=result.note,
            recorded_by=result.recorded_by.get_full_name() or result.recorded_by.get_username(),
            latitude=result.latitude,
            longitude=result.longitude,
            photos=[
                PhotoLine(
                    photo_id=photo.pk,
                    original_name=photo.original_name,
                    width=photo.width,
                    height=photo.height,
                )
                for photo in result.photos.all()
            ],
        )
        for result in results
    ]


def photo_get(*, user: User, photo_id: int) -> InspectionPhoto:
    """A finding's photo, for whoever may see its point (within their units)."""
    require(user=user, action=Action.VIEW_REGISTRY)
    photo = InspectionPhoto.objects.filter(
        unit_scope(user=user, unit_field="result__point__group__unit"), pk=photo_id
    ).first()
    if photo is None:
        raise RecordNotVisible(_("未找到该照片，或它不属于您所在单位及下属单位。"))
    return photo


@dataclass(frozen=True)
class PlanRow:
    plan_id: int
    unit_name: str
    period_start: dt.date
    period_end: dt.date
    seed: int
    targets: int
    done: int
    findings: int
    overdue: bool

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.targets) if self.targets else 100


def plan_rows(*, user: User, today: dt.date) -> list[PlanRow]:
    plans = (
        InspectionPlan.objects.filter(unit_scope(user=user))
        .select_related("unit")
        .annotate(
            target_count=Count("targets"),
            done_count=Count("targets", filter=Q(targets__result__isnull=False)),
            finding_count=Count(
                "targets",
                filter=Q(targets__result__isnull=False) & ~Q(targets__result__finding="sealed"),
            ),
        )
    )
    rows = []
    for plan in plans:
        targets, done = plan.target_count, plan.done_count
        rows.append(
            PlanRow(
                plan_id=plan.pk,
                unit_name=plan.unit.name,
                period_start=plan.period_start,
                period_end=plan.period_end,
                seed=plan.seed,
                targets=targets,
                done=done,
                findings=plan.finding_count,
                overdue=plan.period_end <= today and done < targets,
            )
        )
    return rows


def plan_targets(*, user: User, plan_id: int) -> tuple[InspectionPlan | None, list[dict[str, Any]]]:
    plan = InspectionPlan.objects.filter(unit_scope(user=user), pk=plan_id).first()
    if plan is None:
        return None, []
    targets = InspectionTarget.objects.filter(plan=plan).select_related(
        "point__group__customer", "point__area", "result"
    )
    return plan, [
        {
            "point_id": target.point_id,
            "account_number": target.point.account_number,
            "name": target.point.name,
            "address": target.point.device_address,
            "customer": target.point.group.customer.name,
            "area": target.point.area.number if target.point.area else "",
            "done": target.result_id is not None,
            "finding": target.result.get_finding_display() if target.result else "",
        }
        for target in targets
    ]
