"""The demo's places and groups: transformer areas, access points, the nearby-number
index, and groups with their sub-accounts."""

from __future__ import annotations

import datetime as dt
import random

from refmeter.audit.services import AuditChange, audit_record
from refmeter.demo.generator.city import (
    ACCESS_POINTS_PER_AREA,
    AREAS_PER_UNIT,
    COMMUNITIES,
    ESTATES,
    NEARBY_NUMBERS_PER_UNIT,
    SPOTS,
    STREETS,
)
from refmeter.organisations.models import SupplyUnit, User
from refmeter.registry.models import AccessPoint, DeviceType, TransformerArea
from refmeter.registry.services import (
    PointInput,
    group_create,
    nearby_index_load,
    sub_account_cancel,
    sub_accounts_add,
)


def _load_places(
    *, rng: random.Random, units: dict[str, SupplyUnit], admin: User, now: dt.datetime
) -> dict[str, list[str]]:
    """Areas and access points in bulk, then the nearby index through its loader."""
    areas: list[TransformerArea] = []
    for unit_index, unit_code in enumerate(("3350101", "3350102")):
        for index in range(AREAS_PER_UNIT):
            estate = rng.choice(ESTATES)
            areas.append(
                TransformerArea(
                    unit=units[unit_code],
                    number=f"33{unit_index + 1}{index + 1:07d}",
                    name=f"{estate}{rng.randrange(1, 9)}#配",
                )
            )
    areas = TransformerArea.objects.bulk_create(areas)
    access_points = [
        AccessPoint(
            number=f"3350300000{area_index * ACCESS_POINTS_PER_AREA + position + 1:07d}",
            name=f"{area.name}{rng.randrange(1, 60)}幢终端箱",
            area=area,
        )
        for area_index, area in enumerate(areas)
        for position in range(ACCESS_POINTS_PER_AREA)
    ]
    AccessPoint.objects.bulk_create(access_points)
    audit_record(
        actor=admin,
        occurred_at=now,
        reason="演示数据",
        change=AuditChange(
            action="places.load",
            subject_type="places",
            subject_id=0,
            subject_label="台区与接入点",
            after={"areas": len(areas), "access_points": len(access_points)},
        ),
    )
    numbers_by_unit: dict[str, list[str]] = {}
    rows: list[list[object]] = [
        ["营销系统就近户号导出"],
        ["就近户号/局号", "类型", "接入点编号"],
    ]
    sequence = 1600000
    for unit_code in ("3350101", "3350102"):
        unit_points = [point for point in access_points if point.area.unit.code == unit_code]
        numbers = []
        for _index in range(NEARBY_NUMBERS_PER_UNIT):
            sequence += rng.randrange(1, 40)
            number = f"170{sequence:07d}"
            numbers.append(number)
            rows.append([number, "户号", rng.choice(unit_points).number])
        numbers_by_unit[unit_code] = numbers
    nearby_index_load(actor=admin, rows=rows, now=now)
    return numbers_by_unit


def _point_input(
    *,
    rng: random.Random,
    unit: SupplyUnit,
    customer_short: str,
    device_type: DeviceType,
    nearby_numbers: list[str],
    active_from: dt.date | None,
) -> PointInput:
    estate = rng.choice(ESTATES)
    building = rng.randrange(1, 80)
    entrance = rng.randrange(1, 5)
    spot = SPOTS.get(device_type.name, "设备")
    return PointInput(
        name=f"{estate}{building}幢{customer_short}{spot}",
        device_address=(
            f"越城区{rng.choice(STREETS[unit.code])}{rng.choice(COMMUNITIES)}"
            f"{estate}{building}幢{entrance}单元"
        ),
        nearby_number=rng.choice(nearby_numbers),
        active_from_date=active_from,
    )


def _create_group(
    *,
    rng: random.Random,
    admin: User,
    unit: SupplyUnit,
    customer: object,
    customer_short: str,
    device_type: DeviceType,
    size: int,
    nearby_numbers: list[str],
    today: dt.date,
    now: dt.datetime,
) -> None:
    span_days = (today - dt.date(2012, 6, 1)).days
    created = dt.date(2012, 6, 1) + dt.timedelta(days=rng.randrange(0, max(1, span_days - 400)))
    base = _point_input(
        rng=rng,
        unit=unit,
        customer_short=customer_short,
        device_type=device_type,
        nearby_numbers=nearby_numbers,
        active_from=created,
    )
    group = group_create(
        actor=admin,
        unit=unit,
        customer=customer,  # type: ignore[arg-type]
        device_type=device_type,
        meter_asset_number=f"3310{rng.randrange(10**12, 10**13)}",
        meter_barcode=f"33{rng.randrange(10**18, 10**19)}",
        meter_box_resource_number=f"BX{rng.randrange(10**9, 10**10)}",
        meter_install_date=created,
        created_date=created,
        tariff_code="LV-NONRES",
        base=base,
        reason="演示数据",
        now=now,
    )
    subs = [
        _point_input(
            rng=rng,
            unit=unit,
            customer_short=customer_short,
            device_type=device_type,
            nearby_numbers=nearby_numbers,
            active_from=created + dt.timedelta(days=rng.choice([0, 0, 0, rng.randrange(1, 365)])),
        )
        for _index in range(size - 1)
    ]
    sub_accounts_add(actor=admin, group_id=group.pk, points=subs, reason="演示数据", now=now)
    if size > 20 and rng.random() < 0.3:
        # A point connected for a while, then removed: history the demo can show.
        start = created + dt.timedelta(days=30)
        (removed,) = sub_accounts_add(
            actor=admin,
            group_id=group.pk,
            points=[
                _point_input(
                    rng=rng,
                    unit=unit,
                    customer_short=customer_short,
                    device_type=device_type,
                    nearby_numbers=nearby_numbers,
                    active_from=start,
                )
            ],
            reason="演示数据",
            now=now,
        )
        sub_account_cancel(
            actor=admin,
            point_id=removed.pk,
            active_to_date=start + dt.timedelta(days=rng.randrange(30, 300)),
            reason="演示数据：点位拆除",
            now=now,
        )
