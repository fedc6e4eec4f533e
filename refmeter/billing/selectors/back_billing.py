"""Back-billing reads: the list and the record pages, and the facts the service checks
(the case's current back-billing, the group's largest recent bill, anomaly days)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase, CaseStatus
from refmeter.billing.models import (
    BackBilling,
    BackBillingStatus,
    Bill,
    BillStatus,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group, Point, PointKind

# The list's tabs; "posted" (已入账) is derived: approved and its adjustment is on a bill.
POSTED = "posted"
ALL = "all"
TABS = (
    BackBillingStatus.DRAFT.value,
    BackBillingStatus.APPROVED.value,
    POSTED,
    BackBillingStatus.WITHDRAWN.value,
    ALL,
)


def tab_label(tab: str) -> str:
    labels = {
        BackBillingStatus.DRAFT: _("待审批"),
        BackBillingStatus.APPROVED: _("已审批"),
        POSTED: _("已入账"),
        BackBillingStatus.WITHDRAWN: _("已撤回"),
        ALL: _("全部"),
    }
    return str(labels[tab])


def require_back_billing_viewer(user: User) -> None:
    """Billing staff and managers read back-billings (of their units only)."""
    require(user=user, action=Action.VIEW_BACK_BILLINGS)


def _person(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _status(item: BackBilling) -> str:
    if item.status == BackBillingStatus.APPROVED:
        adjustment = getattr(item, "adjustment", None)
        if adjustment is not None and adjustment.bill_id is not None:
            return POSTED
    return item.status


# ---------------------------------------------------------------- what the service checks


def case_current_back_billing(*, case_id: int) -> BackBilling | None:
    """The case's back-billing that is not withdrawn (at most one)."""
    return (
        BackBilling.objects.filter(case_id=case_id)
        .exclude(status=BackBillingStatus.WITHDRAWN)
        .select_related("created_by")
        .first()
    )


def largest_monthly_bill(*, group_id: int, start: dt.date, end: dt.date) -> Decimal | None:
    """The largest total of the group's issued bills whose month begins in [start, end)."""
    found: Decimal | None = Bill.objects.filter(
        group_id=group_id,
        status=BillStatus.ISSUED,
        period_start__gte=start,
        period_start__lt=end,
    ).aggregate(largest=Max("total_amount"))["largest"]
    return found


@dataclass(frozen=True)
class AnomalySpan:
    kind_label: str
    first_day: dt.date
    last_day: dt.date | None  # inclusive; None while the case is open


def anomaly_spans(*, group: Group, start: dt.date, end: dt.date) -> list[AnomalySpan]:
    """The anomaly cases of the group's meter (open or closed, any kind) with a day in
    [start, end), earliest first. A closed case covers its first day through the day it
    was cleared (or last seen); an open one has no end yet."""
    cases = AnomalyCase.objects.filter(
        Q(group=group) | Q(meter_asset_number=group.meter_asset_number),
        condition_since__lt=end,
    ).order_by("condition_since", "id")
    spans = []
    for case in cases:
        last: dt.date | None = None
        if case.status != CaseStatus.OPEN:
            last = max(day for day in (case.cleared_on, case.last_seen_on) if day is not None)
        if last is None or last >= start:
            spans.append(AnomalySpan(case.get_kind_display(), case.condition_since, last))
    return spans


def reading_days(*, group: Group, start: dt.date, end: dt.date) -> dict[dt.date, Decimal]:
    """The forward register of each day in [start, end] (both ends: the readings at 00:00)."""
    return dict(
        MeterReading.objects.filter(group=group, reading_date__range=(start, end)).values_list(
            "reading_date", "forward_total"
        )
    )


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class BackBillingRow:
    back_billing_id: int
    group_id: int
    base_account_number: str
    customer_name: str
    case_id: int | None
    case_label: str
    method_label: str
    period_start: dt.date
    period_end: dt.date
    energy: Decimal
    amount: Decimal
    status: str
    status_label: str
    created_by: str
    created_by_id: int
    created_at: dt.datetime
    approved_by: str
    approved_at: dt.datetime | None
    withdrawn_by: str
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str


@dataclass(frozen=True)
class BackBillingDetail:
    row: BackBillingRow
    steps: list[dict[str, str]]
    parameters: dict[str, Any]
    price: Decimal
    sanity_bound: Decimal | None
    over_bound: bool
    over_bound_confirmed: bool
    bill_id: int | None
    bill_number: str


def visible_back_billings(
    *, user: User, status: str = ALL, case_id: int | None = None, group_id: int | None = None
) -> QuerySet[BackBilling]:
    """The back-billings of the user's units, newest first, ready to be turned into rows."""
    require_back_billing_viewer(user)
    items = BackBilling.objects.filter(unit_scope(user=user, unit_field="group__unit"))
    if status == POSTED:
        items = items.filter(status=BackBillingStatus.APPROVED, adjustment__bill__isnull=False)
    elif status == BackBillingStatus.APPROVED:
        items = items.filter(status=BackBillingStatus.APPROVED, adjustment__bill__isnull=True)
    elif status in (BackBillingStatus.DRAFT, BackBillingStatus.WITHDRAWN):
        items = items.filter(status=status)
    if case_id is not None:
        items = items.filter(case_id=case_id)
    if group_id is not None:
        items = items.filter(group_id=group_id)
    base_account = Point.objects.filter(group=OuterRef("group_id"), kind=PointKind.BASE).values(
        "account_number"
    )[:1]
    return (
        items.select_related(
            "group__customer", "case", "created_by", "approved_by", "withdrawn_by", "adjustment"
        )
        .annotate(base_account_number=Subquery(base_account))
        .order_by("-created_at", "-id")
    )


def back_billing_rows(*, items: Any) -> list[BackBillingRow]:
    labels = {tab: tab_label(tab) for tab in TABS}
    return [
        BackBillingRow(
            back_billing_id=item.pk,
            group_id=item.group_id,
            base_account_number=getattr(item, "base_account_number", "") or "",
            customer_name=item.group.customer.name,
            case_id=item.case_id,
            case_label=(
                f"{item.case.get_kind_display()}（{item.case.condition_since:%Y-%m-%d}）"
                if item.case is not None
                else ""
            ),
            method_label=str(item.get_method_display()),
            period_start=item.period_start,
            period_end=item.period_end,
            energy=item.energy,
            amount=item.amount,
            status=_status(item),
            status_label=labels[_status(item)],
            created_by=_person(item.created_by),
            created_by_id=item.created_by_id,
            created_at=item.created_at,
            approved_by=_person(item.approved_by),
            approved_at=item.approved_at,
            withdrawn_by=_person(item.withdrawn_by),
            withdrawn_at=item.withdrawn_at,
            withdrawal_reason=item.withdrawal_reason,
        )
        for item in items
    ]


def back_billing_detail(*, user: User, back_billing_id: int) -> BackBillingDetail | None:
    item = (
        visible_back_billings(user=user)
        .select_related("adjustment__bill")
        .filter(pk=back_billing_id)
        .first()
    )
    if item is None:
        return None
    adjustment = getattr(item, "adjustment", None)
    bill = adjustment.bill if adjustment is not None else None
    return BackBillingDetail(
        row=back_billing_rows(items=[item])[0],
        steps=list(item.steps),
        parameters=dict(item.parameters),
        price=item.price,
        sanity_bound=item.sanity_bound,
        over_bound=item.sanity_bound is not None and abs(item.amount) > item.sanity_bound,
        over_bound_confirmed=item.over_bound_confirmed,
        bill_id=bill.pk if bill is not None else None,
        bill_number=bill.number if bill is not None else "",
    )


def local_time(value: dt.datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
