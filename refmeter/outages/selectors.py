from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from refmeter.outages.models import Outage, OutageKind
from refmeter.registry.models import Point, PointPlacement

PLANNED_NOTICE = dt.timedelta(days=7)
TEMPORARY_NOTICE = dt.timedelta(hours=24)


@dataclass(frozen=True)
class AffectedPoint:
    point_id: int
    account_number: str
    name: str
    device_address: str
    area_number: str
    access_point_number: str
    customer_name: str
    contact_name: str
    contact_phone: str
    sms_number: str


def affected_points(*, outage: Outage) -> list[AffectedPoint]:
    """Every point active on an outage day and placed, on such a day, in one of its areas or
    on one of its access points."""
    first = timezone.localdate(outage.starts_at)
    last = timezone.localdate(outage.ends_at)
    areas = list(outage.areas.values_list("pk", flat=True))
    places = list(outage.access_points.values_list("pk", flat=True))
    placed = (
        PointPlacement.objects.filter(from_date__lte=last)
        .filter(Q(to_date__isnull=True) | Q(to_date__gt=first))
        .filter(Q(area_id__in=areas) | Q(access_point_id__in=places))
    )
    points = (
        Point.objects.filter(pk__in=placed.values("point_id"), active_from_date__lte=last)
        .filter(Q(active_to_date__isnull=True) | Q(active_to_date__gt=first))
        .select_related("group__customer", "area", "access_point")
        .order_by("account_number")
    )
    return [
        AffectedPoint(
            point_id=point.pk,
            account_number=point.account_number,
            name=point.name,
            device_address=point.device_address,
            area_number=point.area.number if point.area else "",
            access_point_number=point.access_point.number if point.access_point else "",
            customer_name=point.group.customer.name,
            contact_name=point.group.customer.outage_contact_name,
            contact_phone=point.group.customer.outage_contact_phone,
            sms_number=point.group.customer.sms_number,
        )
        for point in points
    ]


def notice_shortfall(*, outage: Outage, now: dt.datetime) -> dt.timedelta | None:
    """How much less notice than the rules require (7 days planned, 24 hours temporary)."""
    required = PLANNED_NOTICE if outage.kind == OutageKind.PLANNED else TEMPORARY_NOTICE
    given = outage.starts_at - now
    return required - given if given < required else None
