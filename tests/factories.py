"""Test data built through the services, so that tests see what real use would write."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from refmeter.organisations.models import Role, SupplyUnit, UnitKind, User
from refmeter.organisations.services import supply_unit_create, user_create
from refmeter.registry.models import AccessPoint, Customer, DeviceType, Group, TransformerArea
from refmeter.registry.services import (
    PointInput,
    access_point_create,
    customer_create,
    device_type_create,
    group_create,
    sub_accounts_add,
    transformer_area_create,
)

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
_sequence = itertools.count(1)


def unit(*, code: str, parent: SupplyUnit | None = None, prefix: str = "") -> SupplyUnit:
    return supply_unit_create(
        code=code,
        name=f"单位{code}",
        kind=UnitKind.SERVICE_AREA if parent else UnitKind.COMPANY,
        parent=parent,
        account_prefix=prefix,
        now=NOW,
    )


def user(*, unit: SupplyUnit, role: Role = Role.ADMINISTRATOR, username: str = "") -> User:
    return user_create(
        username=username or f"user{next(_sequence)}",
        password="correct-horse-battery",
        unit=unit,
        role=role,
        full_name=f"测试{role.label}",
        now=NOW,
    )


def area(*, actor: User, unit: SupplyUnit, number: str = "") -> TransformerArea:
    number = number or f"{next(_sequence):010d}"
    return transformer_area_create(
        actor=actor, unit=unit, number=number, name=f"测试{number[-4:]}#配", now=NOW
    )


def access_point(*, actor: User, area: TransformerArea, number: str = "") -> AccessPoint:
    number = number or f"33503{next(_sequence):012d}"
    return access_point_create(
        actor=actor, area=area, number=number, name=f"接入点{number[-4:]}", now=NOW
    )


def device_type(*, actor: User, name: str = "", watts: int = 400) -> DeviceType:
    return device_type_create(
        actor=actor,
        name=name or f"楼道EPON设备{next(_sequence)}",
        rated_watts=Decimal(watts),
        now=NOW,
    )


def customer(*, actor: User, unit: SupplyUnit, name: str = "") -> Customer:
    return customer_create(
        actor=actor,
        unit=unit,
        name=name or f"中国移动{next(_sequence)}",
        created_date=dt.date(2015, 1, 1),
        now=NOW,
        phone="0575-88003000",
        outage_contact_name="张三",
        outage_contact_phone="13800000000",
    )


def group(
    *,
    actor: User,
    unit: SupplyUnit,
    place: AccessPoint,
    sub_accounts: int = 0,
    active_from: dt.date = dt.date(2020, 1, 1),
    customer_record: Customer | None = None,
    device: DeviceType | None = None,
) -> Group:
    created = group_create(
        actor=actor,
        unit=unit,
        customer=customer_record or customer(actor=actor, unit=unit),
        device_type=device or device_type(actor=actor),
        meter_asset_number=f"3310{next(_sequence):09d}",
        meter_install_date=active_from,
        created_date=active_from,
        base=PointInput(
            name="基准户",
            device_address="越城区城南街道1幢",
            access_point_number=place.number,
            active_from_date=active_from,
        ),
        now=NOW,
    )
    if sub_accounts:
        sub_accounts_add(
            actor=actor,
            group_id=created.pk,
            points=[
                PointInput(
                    name=f"虚拟子户{index}",
                    device_address=f"越城区城南街道{index}幢",
                    access_point_number=place.number,
                    active_from_date=active_from,
                )
                for index in range(sub_accounts)
            ],
            now=NOW,
        )
    return created


def now() -> dt.datetime:
    return timezone.now()


def readings(group, start: dt.date, forward: list, *, reverse=None, registers=None) -> None:
    """Daily frozen readings of a group's meter from ``start``: one value a day."""
    from refmeter.readings.models import MeterReading

    MeterReading.objects.bulk_create(
        MeterReading(
            group=group,
            meter_asset_number=group.meter_asset_number,
            reading_date=start + dt.timedelta(days=index),
            forward_total=Decimal(str(value)),
            reverse_total=Decimal(str(reverse[index] if reverse else 0)),
            **(
                {key: Decimal(str(values[index])) for key, values in registers.items()}
                if registers
                else {}
            ),
        )
        for index, value in enumerate(forward)
    )


def run_queued_tasks() -> None:
    """Run every queued background task with the real database worker, then return."""
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    ).run()


def group_terms(group: Group, *, actor: User, from_date: dt.date | None = None, **values) -> Group:
    """Change a group's CT ratio or tariff code from a date (its creation by default)."""
    from refmeter.registry.services import group_update

    return group_update(
        actor=actor, group_id=group.pk, now=NOW, reason="测试",
        terms_from_date=from_date or group.created_date, **values,
    )  # fmt: skip
