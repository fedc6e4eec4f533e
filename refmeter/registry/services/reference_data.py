"""Reference data: customers, device types, transformer areas and access points."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common import validators
from refmeter.common.text import clean_digits, clean_text
from refmeter.common.validators import FieldProblem
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.registry.models import AccessPoint, Customer, DeviceType, TransformerArea
from refmeter.registry.selectors import access_point_number_problem
from refmeter.registry.services.base import (
    UnableToCreateCustomer,
    UnableToCreatePlace,
    _require_unit,
)

# ---------------------------------------------------------------- reference data


# The customer's numbers with a known shape (empty is allowed: not every sheet has them).
CUSTOMER_CHECKS: dict[str, Callable[[object], str | None]] = {
    "registration_number": validators.registration_number_problem,
    "handler_id_number": validators.id_card_problem,
    "phone": validators.phone_problem,
    "handler_phone": validators.phone_problem,
    "outage_contact_phone": validators.phone_problem,
    "sms_number": validators.mobile_problem,
}


def customer_detail_problems(details: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for name, check in CUSTOMER_CHECKS.items():
        value = clean_text(details.get(name, ""))
        problem = check(value) if value else None
        if problem:
            label = getattr(Customer._meta.get_field(name), "verbose_name", name)
            problems.append(FieldProblem(f"{label}：{problem}", field=name))
    return problems


def customer_create(
    *,
    actor: User,
    unit: SupplyUnit,
    name: str,
    created_date: dt.date,
    now: dt.datetime,
    **details: str,
) -> Customer:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, unit)
    name = clean_text(name)
    if not name:
        raise UnableToCreateCustomer(_("客户名称不能为空。"))
    if Customer.objects.filter(unit=unit, name=name).exists():
        raise UnableToCreateCustomer(_("本单位已有名为“%(name)s”的客户。") % {"name": name})
    allowed = {field.name for field in Customer._meta.get_fields()} - {"id", "unit", "name"}
    unknown = set(details) - allowed
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    problems = customer_detail_problems(details)
    if problems:
        raise UnableToCreateCustomer(problems)
    with transaction.atomic():
        customer = Customer.objects.create(
            unit=unit,
            name=name,
            created_date=created_date,
            **{key: clean_text(value) for key, value in details.items()},
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="customer.create",
                subject_type="customer",
                subject_id=customer.pk,
                subject_label=name,
                after={"name": name, "unit": unit.code},
            ),
        )
    return customer


def device_type_create(
    *,
    actor: User,
    name: str,
    rated_watts: Decimal,
    daily_operating_hours: Decimal = Decimal(24),
    now: dt.datetime,
) -> DeviceType:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    name = clean_text(name)
    problems = []
    if not name:
        problems.append(_("设备类型名称不能为空。"))
    if rated_watts <= 0:
        problems.append(_("额定功率必须大于 0 瓦。"))
    if not (0 < daily_operating_hours <= 24):
        problems.append(_("日运行小时数应在 0 到 24 之间。"))
    if name and DeviceType.objects.filter(name=name).exists():
        problems.append(_("设备类型“%(name)s”已存在。") % {"name": name})
    if problems:
        raise UnableToCreatePlace(problems)
    with transaction.atomic():
        device_type = DeviceType.objects.create(
            name=name, rated_watts=rated_watts, daily_operating_hours=daily_operating_hours
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="device_type.create",
                subject_type="device_type",
                subject_id=device_type.pk,
                subject_label=name,
                after={"rated_watts": str(rated_watts), "hours": str(daily_operating_hours)},
            ),
        )
    return device_type


def transformer_area_create(
    *, actor: User, unit: SupplyUnit, number: str, name: str, now: dt.datetime
) -> TransformerArea:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, unit)
    number = clean_digits(number)
    if not number:
        raise UnableToCreatePlace(_("台区编号不能为空。"))
    if TransformerArea.objects.filter(number=number).exists():
        raise UnableToCreatePlace(_("台区编号 %(number)s 已存在。") % {"number": number})
    with transaction.atomic():
        area = TransformerArea.objects.create(unit=unit, number=number, name=clean_text(name))
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="area.create",
                subject_type="area",
                subject_id=area.pk,
                subject_label=f"{number} {area.name}",
                after={"number": number, "name": area.name, "unit": unit.code},
            ),
        )
    return area


def access_point_create(
    *, actor: User, area: TransformerArea, number: str, name: str, now: dt.datetime
) -> AccessPoint:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, area.unit)
    number = clean_digits(number)
    problem = access_point_number_problem(number)
    if problem:
        raise UnableToCreatePlace(problem)
    if AccessPoint.objects.filter(number=number).exists():
        raise UnableToCreatePlace(_("接入点编号 %(number)s 已存在。") % {"number": number})
    with transaction.atomic():
        access_point = AccessPoint.objects.create(number=number, name=clean_text(name), area=area)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="access_point.create",
                subject_type="access_point",
                subject_id=access_point.pk,
                subject_label=f"{number} {access_point.name}",
                after={"number": number, "name": access_point.name, "area": area.number},
            ),
        )
    return access_point
