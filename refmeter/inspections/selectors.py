from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from refmeter.common.listing import Listing, ListParams, export_queryset, page_queryset
from refmeter.inspections.models import (
    Finding,
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


# ---------------------------------------------------------------- a plan's targets, paged

TARGET_SORTS: dict[str, tuple[str, ...]] = {
    "account": ("point__account_number",),
    "name": ("point__name",),
    "address": ("point__device_address",),
    "customer": ("point__group__customer__name", "point__account_number"),
    "area": ("point__area__number", "point__account_number"),
    "finding": ("result__finding", "point__account_number"),
}


@dataclass(frozen=True)
class PlanTargets:
    plan: InspectionPlan
    listing: Listing[dict[str, Any]]
    targets: int  # the whole plan's, whatever the filters
    done: int


@dataclass(frozen=True)
class _TargetQuery:
    plan: InspectionPlan
    targets: Any  # the filtered targets, as values
    rows: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def _plan_targets(
    *, user: User, plan_id: int, text: str = "", state: str = "", finding: str = ""
) -> _TargetQuery | None:
    plan = (
        InspectionPlan.objects.filter(unit_scope(user=user), pk=plan_id)
        .select_related("unit")
        .first()
    )
    if plan is None:
        return None
    targets = InspectionTarget.objects.filter(plan=plan)
    if text:
        targets = targets.filter(
            Q(point__account_number__contains=text)
            | Q(point__name__icontains=text)
            | Q(point__device_address__icontains=text)
        )
    if state == "done":
        targets = targets.filter(result__isnull=False)
    elif state == "pending":
        targets = targets.filter(result__isnull=True)
    if finding:
        targets = targets.filter(result__finding=finding)
    findings = dict(Finding.choices)
    values = (
        "point_id", "point__account_number", "point__name", "point__device_address",
        "point__group__customer__name", "point__area__number", "result_id", "result__finding",
        "result__recorded_at", "result__note",
    )  # fmt: skip

    def rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "point_id": row["point_id"],
                "account_number": row["point__account_number"],
                "name": row["point__name"],
                "address": row["point__device_address"],
                "customer": row["point__group__customer__name"],
                "area": row["point__area__number"] or "",
                "done": row["result_id"] is not None,
                "finding": str(findings.get(row["result__finding"], "")),
                "recorded_at": row["result__recorded_at"],
                "note": row["result__note"] or "",
            }
            for row in records
        ]

    return _TargetQuery(plan=plan, targets=targets.values(*values), rows=rows)


def plan_target_page(
    *,
    user: User,
    plan_id: int,
    params: ListParams,
    request_query: Any = None,
    text: str = "",
    state: str = "",
    finding: str = "",
) -> PlanTargets | None:
    """One page of a plan's points in four queries whatever its size: the plan, its
    progress, the count and the page. ``text`` is part of an account number, a name or an
    address; ``state`` is ``done`` or ``pending``; ``finding`` a result's code."""
    query = _plan_targets(user=user, plan_id=plan_id, text=text, state=state, finding=finding)
    if query is None:
        return None
    progress = InspectionTarget.objects.filter(plan=query.plan).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(result__isnull=False))
    )
    listing = page_queryset(
        query.targets, params, columns=TARGET_SORTS, tie_breaker="pk",
        request_query=request_query, rows=query.rows,
    )  # fmt: skip
    return PlanTargets(
        plan=query.plan, listing=listing, targets=progress["total"], done=progress["done"]
    )


def plan_target_export(
    *,
    user: User,
    plan_id: int,
    params: ListParams,
    text: str = "",
    state: str = "",
    finding: str = "",
) -> tuple[InspectionPlan, Iterator[dict[str, Any]]] | None:
    """Every point of the plan that the page's filters keep, in the page's order, read in
    batches (one query each, whatever the plan's size)."""
    query = _plan_targets(user=user, plan_id=plan_id, text=text, state=state, finding=finding)
    if query is None:
        return None
    return query.plan, export_queryset(
        query.targets, params, columns=TARGET_SORTS, tie_breaker="pk", rows=query.rows
    )


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
