"""refmeter's side of the reconciliation: every group's base account on a day, in one query,
and the reference meter's energy per point of a month for the groups that need it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q

from refmeter.common.periods import Period
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group, GroupStatus, Point, PointKind
from refmeter.registry.selectors import (
    active_on_filter,
    base_account_subquery,
    groups_terms_rows,
    terms_pieces,
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RefmeterAccount:
    group_id: int
    account_number: str
    customer_name: str
    unit_name: str
    multiplier: int  # points active on the day: the base account and its sub-accounts
    closed: bool  # closed on or before the day


def refmeter_accounts(*, as_of: dt.date, units: Iterable[Any] | None) -> dict[str, RefmeterAccount]:
    """Every group created by ``as_of`` in ``units`` (None: every unit), by base account
    number, with its multiplier and state on that day. One query, whatever the count."""
    groups = Group.objects.filter(created_date__lte=as_of)
    if units is not None:
        groups = groups.filter(unit__in=units)
    rows = (
        groups.annotate(
            base=base_account_subquery(group="pk"),
            active=Count("points", filter=active_on_filter(as_of, "points__")),
        )
        .order_by()
        .values_list(
            "pk", "base", "customer__name", "unit__name", "status", "closed_date", "active"
        )
    )
    accounts: dict[str, RefmeterAccount] = {}
    for group_id, base, customer, unit, status, closed_date, active in rows:
        if not base:
            continue
        closed = status == GroupStatus.CLOSED and closed_date is not None and closed_date <= as_of
        accounts[base] = RefmeterAccount(group_id, base, customer, unit, active, closed)
    return accounts


def base_accounts_among(numbers: Iterable[str]) -> set[str]:
    """Those of ``numbers`` that are base accounts of some group, in any unit (one query)."""
    wanted = list(numbers)
    if not wanted:
        return set()
    return set(
        Point.objects.filter(kind=PointKind.BASE, account_number__in=wanted).values_list(
            "account_number", flat=True
        )
    )


def energy_month(as_of: dt.date) -> Period:
    """The month whose energy a multiplier difference is shown with: the last calendar month
    before the one holding ``as_of`` (the month about to be billed)."""
    last = as_of.replace(day=1) - dt.timedelta(days=1)
    return Period.month(last.year, last.month)


def energy_per_point(*, group_ids: Iterable[int], period: Period) -> dict[int, Decimal]:
    """Each group's reference-meter energy over ``period`` x its CT ratio (effective-dated,
    cut where it changes, as billing cuts it): the energy one point drew. Two queries. A
    group missing a reading at a cut has no figure."""
    ids = set(group_ids)
    if not ids:
        return {}
    ratios = groups_terms_rows(group_ids=ids, before=period.end_date)
    cuts = {
        group_id: [
            (piece.start_date, piece.end_date, piece.ct_ratio)
            for piece in terms_pieces(rows, period.start_date, period.end_date)
        ]
        for group_id, rows in ratios.items()
    }
    days = {day for pieces in cuts.values() for a, b, _ratio in pieces for day in (a, b)}
    readings = {
        (group_id, day): value
        for group_id, day, value in MeterReading.objects.filter(
            Q(group_id__in=ids), reading_date__in=sorted(days)
        ).values_list("group_id", "reading_date", "forward_total")
    }
    energy: dict[int, Decimal] = {}
    for group_id, pieces in cuts.items():
        total = Decimal(0)
        for a, b, ratio in pieces:
            first, last = readings.get((group_id, a)), readings.get((group_id, b))
            if first is None or last is None:
                break
            total += (last - first) * ratio
        else:
            if pieces:
                energy[group_id] = total.quantize(CENT, rounding=ROUND_HALF_UP)
    return energy
