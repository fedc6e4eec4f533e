from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from refmeter.inspections.models import InspectionPlan, InspectionResult, InspectionTarget
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope


@dataclass(frozen=True)
class InspectionLine:
    recorded_at: dt.datetime
    finding: str
    finding_label: str
    note: str
    recorded_by: str


def point_inspections(*, point_id: int, limit: int = 20) -> list[InspectionLine]:
    return [
        InspectionLine(
            recorded_at=result.recorded_at,
            finding=result.finding,
            finding_label=result.get_finding_display(),
            note=result.note,
            recorded_by=result.recorded_by.get_full_name() or result.recorded_by.get_username(),
        )
        for result in InspectionResult.objects.filter(point_id=point_id).select_related(
            "recorded_by"
        )[:limit]
    ]


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


@dataclass(frozen=True)
class RouteStop:
    point_id: int
    account_number: str
    name: str
    address: str
    customer: str
    area: str  # "number name", or "" when the point has none
    access_point: str


def route_stops(
    *, user: User, plan_id: int, area_number: str = ""
) -> tuple[InspectionPlan | None, list[RouteStop]]:
    """The plan's points still to inspect (of one transformer area if given), in the order
    an inspector walks them: by area, then access point, then account number. One query."""
    plan = InspectionPlan.objects.filter(unit_scope(user=user), pk=plan_id).first()
    if plan is None:
        return None, []
    targets = InspectionTarget.objects.filter(plan=plan, result__isnull=True)
    if area_number:
        targets = targets.filter(point__area__number=area_number)
    rows = (
        targets.order_by("point__area__number", "point__access_point__number", "point__account_number")
        .values(
            "point_id", "point__account_number", "point__name", "point__device_address",
            "point__group__customer__name", "point__area__number",
            "point__area__name", "point__access_point__number", "point__access_point__name",
        )
    )  # fmt: skip
    return plan, [
        RouteStop(
            point_id=row["point_id"],
            account_number=row["point__account_number"],
            name=row["point__name"],
            address=row["point__device_address"],
            customer=row["point__group__customer__name"],
            area=" ".join(filter(None, [row["point__area__number"], row["point__area__name"]])),
            access_point=" ".join(
                filter(None, [row["point__access_point__number"], row["point__access_point__name"]])
            ),
        )
        for row in rows
    ]
