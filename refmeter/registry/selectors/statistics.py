"""Statistics of the points within the user's units."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Point
from refmeter.registry.selectors.base import active_on_filter

# ---------------------------------------------------------------- statistics


@dataclass(frozen=True)
class PointStatistics:
    as_of: dt.date
    total: int
    by_customer: list[dict[str, Any]]
    by_device_type: list[dict[str, Any]]
    by_area: list[dict[str, Any]]


def point_statistics(*, user: User | None, as_of: dt.date) -> PointStatistics:
    """Active points on a date, by customer, device type and transformer area.

    ``user`` None means the whole database (the command line, run by an operator).
    """
    points = Point.objects.filter(active_on_filter(as_of))
    if user is not None:
        require(user=user, action=Action.VIEW_STATISTICS)
        points = points.filter(unit_scope(user=user, unit_field="group__unit"))
    by_customer = [
        {"customer": row["group__customer__name"], "points": row["points"]}
        for row in points.values("group__customer_id", "group__customer__name")
        .annotate(points=Count("id"))
        .order_by("-points", "group__customer__name")
    ]
    by_device_type = [
        {"device_type": row["group__device_type__name"], "points": row["points"]}
        for row in points.values("group__device_type_id", "group__device_type__name")
        .annotate(points=Count("id"))
        .order_by("-points", "group__device_type__name")
    ]
    by_area = [
        {"area_number": row["area__number"], "area": row["area__name"], "points": row["points"]}
        for row in points.values("area_id", "area__number", "area__name")
        .annotate(points=Count("id"))
        .order_by("-points", "area__number")
    ]
    return PointStatistics(
        as_of=as_of,
        total=sum(row["points"] for row in by_customer),
        by_customer=by_customer,
        by_device_type=by_device_type,
        by_area=by_area,
    )
