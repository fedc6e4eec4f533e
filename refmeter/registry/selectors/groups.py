"""Groups: search, list rows, one group and its detail, its history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from refmeter.audit.selectors import AuditLine, audit_history
from refmeter.common.periods import is_active_on
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.registry.models import Group, Point, PointKind
from refmeter.registry.selectors.base import _not_visible, active_on_filter
from refmeter.registry.selectors.multipliers import group_multiplier_on

# ---------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupRow:
    group_id: int
    unit_name: str
    customer_name: str
    base_account_number: str
    base_name: str
    base_address: str
    device_type: str
    meter_asset_number: str
    created_date: dt.date
    status: str
    status_label: str
    active_points: int


def _visible_groups(user: User) -> QuerySet[Group]:
    return Group.objects.filter(unit_scope(user=user))


def group_search(
    *,
    user: User,
    as_of: dt.date,
    unit_id: int | None = None,
    customer: str = "",
    name: str = "",
    address: str = "",
    account_number: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
) -> QuerySet[Group]:
    """Groups matching the filters, annotated for :func:`group_rows`; not yet paged."""
    require(user=user, action=Action.VIEW_REGISTRY)
    groups = _visible_groups(user)
    if unit_id:
        unit = units_visible_to(user=user).filter(pk=unit_id).first()
        if unit is None:
            raise _not_visible(_("供电单位"))
        groups = groups.filter(unit__path__startswith=unit.path)
    if customer:
        groups = groups.filter(customer__name__icontains=customer)
    base = Q(points__kind=PointKind.BASE)
    if name:
        groups = groups.filter(base & Q(points__name__icontains=name))
    if address:
        groups = groups.filter(base & Q(points__device_address__icontains=address))
    if account_number:
        groups = groups.filter(base & Q(points__account_number=account_number))
    if created_from:
        groups = groups.filter(created_date__gte=created_from)
    if created_to:
        groups = groups.filter(created_date__lte=created_to)
    return groups.distinct().order_by("customer__name", "created_date", "id")


def group_rows(*, groups: Iterable[Group], as_of: dt.date) -> list[GroupRow]:
    """Plain rows for a page of groups, in three queries whatever the page size."""
    group_list = list(groups)
    ids = [group.pk for group in group_list]
    related = {
        group.pk: group
        for group in Group.objects.filter(pk__in=ids).select_related(
            "unit", "customer", "device_type"
        )
    }
    bases = {
        point.group_id: point
        for point in Point.objects.filter(group_id__in=ids, kind=PointKind.BASE)
    }
    counts = dict(
        Point.objects.filter(active_on_filter(as_of), group_id__in=ids)
        .values("group_id")
        .annotate(active=Count("id"))
        .values_list("group_id", "active")
    )
    rows = []
    for group_id in ids:
        group = related[group_id]
        base_point = bases.get(group_id)
        rows.append(
            GroupRow(
                group_id=group_id,
                unit_name=group.unit.name,
                customer_name=group.customer.name,
                base_account_number=base_point.account_number if base_point else "",
                base_name=base_point.name if base_point else "",
                base_address=base_point.device_address if base_point else "",
                device_type=str(group.device_type),
                meter_asset_number=group.meter_asset_number,
                created_date=group.created_date,
                status=group.status,
                status_label=group.get_status_display(),
                active_points=counts.get(group_id, 0),
            )
        )
    return rows


@dataclass(frozen=True)
class GroupDetail:
    group_id: int
    unit_name: str
    customer_id: int
    customer_name: str
    customer_address: str
    customer_phone: str
    outage_contact_name: str
    outage_contact_phone: str
    sms_number: str
    device_type: str
    rated_watts: Any
    daily_operating_hours: Any
    tariff_code: str
    meter_asset_number: str
    meter_barcode: str
    meter_box_resource_number: str
    ct_ratio: int
    meter_install_date: dt.date
    created_date: dt.date
    status: str
    status_label: str
    closed_date: dt.date | None
    base_point_id: int | None
    base_account_number: str
    base_name: str
    base_address: str
    multiplier: int
    active_sub_accounts: int
    sub_account_limit: int
    version: int


def group_get(*, user: User, group_id: int) -> Group:
    require(user=user, action=Action.VIEW_REGISTRY)
    group = (
        _visible_groups(user)
        .select_related("unit", "customer", "device_type")
        .filter(pk=group_id)
        .first()
    )
    if group is None:
        raise _not_visible(_("群组"))
    return group


class _Base(NamedTuple):
    pk: int
    account_number: str
    name: str
    device_address: str
    active_from_date: dt.date | None
    active_to_date: dt.date | None


_BASE_FIELDS = (
    "pk",
    "account_number",
    "name",
    "device_address",
    "active_from_date",
    "active_to_date",
)


def group_detail(*, user: User, group_id: int, as_of: dt.date) -> GroupDetail:
    group = group_get(user=user, group_id=group_id)
    base = Point.objects.filter(group=group, kind=PointKind.BASE).values_list(*_BASE_FIELDS).first()
    return _group_detail(
        group,
        base_point=_Base(*base) if base else None,
        multiplier=group_multiplier_on(group_id=group.pk, on_date=as_of),
        as_of=as_of,
    )


def _group_detail(
    group: Group, *, base_point: _Base | None, multiplier: int, as_of: dt.date
) -> GroupDetail:
    base_active = base_point is not None and is_active_on(
        as_of, base_point.active_from_date, base_point.active_to_date
    )
    customer = group.customer
    return GroupDetail(
        group_id=group.pk,
        unit_name=group.unit.name,
        customer_id=customer.pk,
        customer_name=customer.name,
        customer_address=customer.address,
        customer_phone=customer.phone,
        outage_contact_name=customer.outage_contact_name,
        outage_contact_phone=customer.outage_contact_phone,
        sms_number=customer.sms_number,
        device_type=group.device_type.name,
        rated_watts=group.device_type.rated_watts,
        daily_operating_hours=group.device_type.daily_operating_hours,
        tariff_code=group.tariff_code,
        meter_asset_number=group.meter_asset_number,
        meter_barcode=group.meter_barcode,
        meter_box_resource_number=group.meter_box_resource_number,
        ct_ratio=group.ct_ratio,
        meter_install_date=group.meter_install_date,
        created_date=group.created_date,
        status=group.status,
        status_label=group.get_status_display(),
        closed_date=group.closed_date,
        base_point_id=base_point.pk if base_point else None,
        base_account_number=base_point.account_number if base_point else "",
        base_name=base_point.name if base_point else "",
        base_address=base_point.device_address if base_point else "",
        multiplier=multiplier,
        active_sub_accounts=multiplier - (1 if base_active else 0),
        sub_account_limit=settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS,
        version=group.version,
    )


def group_history(*, user: User, group_id: int) -> list[AuditLine]:
    group = group_get(user=user, group_id=group_id)
    return audit_history(subject_type="group", subject_id=group.pk, include_children=True)
