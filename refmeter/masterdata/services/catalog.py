"""Load customers (名称, 统一社会信用代码, contacts) and device types (名称, 额定功率, 日运行小时)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange
from refmeter.common import validators
from refmeter.common.bulk import insert
from refmeter.masterdata.services.base import LoadResult, audit, describe, update
from refmeter.masterdata.services.run import Writer
from refmeter.masterdata.sheet import Table
from refmeter.masterdata.specs import CHECKS, DETAILS
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.registry.models import Customer, DeviceType, Group

LENGTHS = {
    field: getattr(Customer._meta.get_field(field), "max_length", None) or 300 for field in DETAILS
}


def plan_customers(*, table: Table, result: LoadResult, actor: User, now: dt.datetime) -> Writer:
    today = timezone.localtime(now).date()
    units = {unit.code: unit for unit in units_visible_to(user=actor)}
    existing = {
        (customer.unit_id, customer.name): customer
        for customer in Customer.objects.filter(unit_scope(user=actor)).select_related("unit")
    }
    seen: set[tuple[str, str]] = set()
    creates: list[Customer] = []
    changes: list[tuple[Customer, dict[str, tuple[Any, Any]]]] = []
    for row in table.rows:
        unit_code = table.digits(row, "unit")
        name = table.text(row, "name", max_length=200)
        details = {key: table.text(row, key, max_length=LENGTHS[key]) for key in DETAILS}
        created_date = table.date(row, "created_date")
        for key, check in CHECKS.items():
            problem = check(details[key]) if details[key] else None
            if problem:
                table.problem(row, key, str(problem))
        if details["registration_number"]:
            details["registration_number"] = validators.normalised(details["registration_number"])
        unit = units.get(unit_code)
        if unit is None:
            table.problem(
                row, "unit",
                _("供电单位编码 %(code)s 不存在或不属于您的单位。") % {"code": unit_code},
            )  # fmt: skip
            continue
        if not name:
            continue
        if (unit_code, name) in seen:
            table.row_problem(row, _("客户“%(name)s”重复。") % {"name": name})
            continue
        seen.add((unit_code, name))
        current = existing.get((unit.pk, name))
        if current is None:
            creates.append(
                Customer(unit=unit, name=name, created_date=created_date or today, **details)
            )
            continue
        differing: dict[str, tuple[Any, Any]] = {
            key: (getattr(current, key), value)
            for key, value in details.items()
            if getattr(current, key) != value
        }
        if created_date is not None and created_date != current.created_date:
            differing["created_date"] = (current.created_date, created_date)
        if differing:
            changes.append((current, differing))
        else:
            result.unchanged += 1
    result.created = [f"{customer.unit.code} {customer.name}" for customer in creates]
    result.changed = [
        f"{customer.unit.code} {customer.name}：{describe(diff)}" for customer, diff in changes
    ]

    def write(reason: str) -> None:
        insert(Customer, creates, key=("unit_id", "name"))
        for customer, differing in changes:
            for key, (_before, after) in differing.items():
                setattr(customer, key, after)
        update(
            Customer, [customer for customer, _diff in changes], fields=[*DETAILS, "created_date"]
        )
        entries = [
            AuditChange(
                action="customer.create",
                subject_type="customer",
                subject_id=customer.pk,
                subject_label=customer.name,
                after={
                    "unit": customer.unit.code,
                    "name": customer.name,
                    **{key: getattr(customer, key) for key in DETAILS},
                },
            )
            for customer in creates
        ] + [
            AuditChange(
                action="customer.update",
                subject_type="customer",
                subject_id=customer.pk,
                subject_label=customer.name,
                before={key: str(before) for key, (before, _after) in differing.items()},
                after={key: str(after) for key, (_before, after) in differing.items()},
            )
            for customer, differing in changes
        ]
        audit(actor=actor, now=now, changes=entries, reason=reason)

    return write


def plan_device_types(*, table: Table, result: LoadResult, actor: User, now: dt.datetime) -> Writer:
    existing = {device.name: device for device in DeviceType.objects.all()}
    shared = set()
    if not actor.is_superuser:
        # A type that groups of other units use is changed only by a superuser.
        shared = set(
            Group.objects.exclude(unit_scope(user=actor)).values_list("device_type_id", flat=True)
        )
    seen: set[str] = set()
    creates: list[DeviceType] = []
    changes: list[tuple[DeviceType, dict[str, tuple[Any, Any]]]] = []
    for row in table.rows:
        name = table.text(row, "name", max_length=100)
        watts = table.decimal(row, "rated_watts", places=1)
        hours = table.decimal(row, "hours", places=1)
        if hours is not None and hours > 24:
            table.problem(row, "hours", _("日运行小时数应在 0 到 24 之间。"))
            continue
        if not name or watts is None:
            continue
        if watts >= Decimal("10000000"):
            table.problem(row, "rated_watts", _("额定功率过大。"))
            continue
        if name in seen:
            table.row_problem(row, _("设备类型“%(name)s”重复。") % {"name": name})
            continue
        seen.add(name)
        hours = hours if hours is not None else Decimal(24)
        current = existing.get(name)
        if current is None:
            creates.append(DeviceType(name=name, rated_watts=watts, daily_operating_hours=hours))
            continue
        differing: dict[str, tuple[Any, Any]] = {}
        if current.rated_watts != watts:
            differing["rated_watts"] = (current.rated_watts, watts)
        if current.daily_operating_hours != hours:
            differing["daily_operating_hours"] = (current.daily_operating_hours, hours)
        if differing and current.pk in shared:
            table.row_problem(
                row, _("设备类型“%(name)s”也用于其他单位的群组，只有超级管理员可以修改。")
                % {"name": name},
            )  # fmt: skip
            continue
        if differing:
            changes.append((current, differing))
        else:
            result.unchanged += 1
    result.created = [str(device) for device in creates]
    result.changed = [f"{device.name}：{describe(diff)}" for device, diff in changes]

    def write(reason: str) -> None:
        insert(DeviceType, creates, key=("name",))
        for device, differing in changes:
            for key, (_before, after) in differing.items():
                setattr(device, key, after)
        update(
            DeviceType,
            [device for device, _diff in changes],
            fields=["rated_watts", "daily_operating_hours"],
        )
        entries = [
            AuditChange(
                action="device_type.create",
                subject_type="device_type",
                subject_id=device.pk,
                subject_label=device.name,
                after={
                    "name": device.name,
                    "rated_watts": str(device.rated_watts),
                    "daily_operating_hours": str(device.daily_operating_hours),
                },
            )
            for device in creates
        ] + [
            AuditChange(
                action="device_type.update",
                subject_type="device_type",
                subject_id=device.pk,
                subject_label=device.name,
                before={key: str(before) for key, (before, _after) in differing.items()},
                after={key: str(after) for key, (_before, after) in differing.items()},
            )
            for device, differing in changes
        ]
        audit(actor=actor, now=now, changes=entries, reason=reason)

    return write
