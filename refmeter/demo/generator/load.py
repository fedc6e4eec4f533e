"""Loading the demo city, once, in one transaction."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from refmeter.demo.generator.activity import _demo_field_and_grid, _demo_readings, _demo_work_orders
from refmeter.demo.generator.city import (
    CUSTOMERS,
    DEMO_PASSWORD,
    DEMO_USERS,
    DEVICE_TYPES,
    STREETS,
    SUB_ACCOUNTS_PER_GROUP,
    UNITS,
    _credit_code,
)
from refmeter.demo.generator.places import _create_group, _load_places
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.services import supply_unit_create, user_create
from refmeter.registry.models import AccessPoint, DeviceType, Point, TransformerArea
from refmeter.registry.services import customer_create, device_type_create


@dataclass(frozen=True)
class DemoSummary:
    units: int
    users: int
    customers: int
    device_types: int
    areas: int
    access_points: int
    groups: int
    points_active: int
    logins: list[tuple[str, str, str, str]]


def split_evenly(total: int, per_group: int) -> list[int]:
    """Sizes of ceil(total / per_group) groups that differ by at most one."""
    groups = max(1, math.ceil(total / per_group))
    base, extra = divmod(total, groups)
    return [base + (1 if index < extra else 0) for index in range(groups)]


def demo_is_loaded() -> bool:
    return SupplyUnit.objects.exists()


def load_demo(
    *,
    today: dt.date,
    now: dt.datetime,
    progress: Callable[[str], None] = lambda message: None,
) -> DemoSummary:
    if demo_is_loaded():
        raise RuntimeError("数据库中已有数据，演示数据只能装入空数据库。")
    rng = random.Random(20170101)
    with transaction.atomic():
        units: dict[str, SupplyUnit] = {}
        for code, name, kind, parent, prefix in UNITS:
            units[code] = supply_unit_create(
                code=code,
                name=name,
                kind=kind,
                parent=units[parent] if parent else None,
                account_prefix=prefix,
                now=now,
            )
        users: dict[str, User] = {}
        for username, full_name, role, unit_code in DEMO_USERS:
            users[username] = user_create(
                username=username,
                password=DEMO_PASSWORD,
                unit=units[unit_code],
                role=role,
                full_name=full_name,
                is_superuser=username == "admin",
                now=now,
            )
        admin = users["admin"]
        progress("单位与用户已创建")

        device_types: dict[str, DeviceType] = {
            name: device_type_create(
                actor=admin, name=name, rated_watts=watts, daily_operating_hours=hours, now=now
            )
            for name, watts, hours in DEVICE_TYPES
        }

        nearby_by_unit = _load_places(rng=rng, units=units, admin=admin, now=now)
        progress("台区、接入点与就近户号索引已创建")

        group_count = 0
        for customer_spec in CUSTOMERS:
            unit = units[customer_spec.unit_code]
            customer = customer_create(
                actor=admin,
                unit=unit,
                name=customer_spec.name,
                created_date=dt.date(2012, 1, 1),
                now=now,
                registration_number=_credit_code(f"91330600{rng.randrange(10**9, 10**10)}"),
                address=f"绍兴市越城区{rng.choice(STREETS[unit.code])}{rng.randrange(1, 300)}号",
                postcode="312000",
                phone=customer_spec.phone,
                handler_name=customer_spec.contact,
                handler_phone=f"139{rng.randrange(10**7, 10**8)}",
                outage_contact_name=customer_spec.contact,
                outage_contact_phone=f"138{rng.randrange(10**7, 10**8)}",
                sms_number=f"137{rng.randrange(10**7, 10**8)}",
            )
            for device_name, points in customer_spec.points.items():
                for size in split_evenly(points, SUB_ACCOUNTS_PER_GROUP + 1):
                    _create_group(
                        rng=rng,
                        admin=admin,
                        unit=unit,
                        customer=customer,
                        customer_short=customer_spec.short,
                        device_type=device_types[device_name],
                        size=size,
                        nearby_numbers=nearby_by_unit[unit.code],
                        today=today,
                        now=now,
                    )
                    group_count += 1
            progress(f"{customer_spec.short}：{sum(customer_spec.points.values())} 个用电点")
        _demo_work_orders(admin=admin, today=today, now=now, nearby=nearby_by_unit["3350101"])
        progress("在途工单已创建")
        readings = _demo_readings(admin=admin, rng=rng, today=today, now=now)
        progress(f"近 24 个月日冻结读数 {readings} 条（含注入的故障）")
    from refmeter.anomalies.services import anomalies_scan

    # Scan the last half year fortnightly, as the nightly scan would have, so the demo has
    # a history of cases raised and cleared.
    for weeks_ago in range(26, -1, -2):
        anomalies_scan(as_of=today - dt.timedelta(days=7 * weeks_ago), now=now)
    progress("近半年的异常扫描已运行")
    _demo_field_and_grid(today=today, now=now)
    progress("线损数据、停电计划与周期检查计划已创建")
    return DemoSummary(
        units=len(units),
        users=len(users),
        customers=len(CUSTOMERS),
        device_types=len(device_types),
        areas=TransformerArea.objects.count(),
        access_points=AccessPoint.objects.count(),
        groups=group_count,
        points_active=Point.objects.filter(status="active").count(),
        logins=[(u, DEMO_PASSWORD, str(role.label), n) for u, n, role, _unit in DEMO_USERS],
    )
