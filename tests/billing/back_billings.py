"""What the back-billing tests share: their clock, the state a refusal must leave, and
the meter histories and computations they start from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from refmeter.anomalies.models import AnomalyCase
from refmeter.anomalies.services import anomalies_scan, anomaly_case_open_by_hand
from refmeter.audit.models import AuditEntry
from refmeter.billing.models import BackBilling, BillAdjustment
from refmeter.billing.services import (
    back_billing_compute,
)
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


JUNE = dt.date(2026, 6, 1)


JULY = dt.date(2026, 7, 1)


def state():
    """What a refused action must leave untouched."""
    rows = [
        (item.pk, item.status, item.amount, item.approved_by_id, item.withdrawn_by_id)
        for item in BackBilling.objects.order_by("pk")
    ]
    return rows, BillAdjustment.objects.count(), AuditEntry.objects.count()


def compute(actor, group, **overrides):
    arguments = {
        "method": "multiplier", "period_start": JUNE, "period_end": JULY, "now": NOW,
        "parameters": {"correct_points": 5}, "confirm_over_bound": True,
    }  # fmt: skip
    arguments.update(overrides)
    return back_billing_compute(actor=actor, group_id=group.pk, **arguments)


def open_case(city, group, since=JUNE):
    return anomaly_case_open_by_hand(
        actor=city.south_admin, group_id=group.pk, kind="multiplier", since=since,
        note="现场发现未登记点位", now=NOW,
    )  # fmt: skip


def meter(group, *, zero_from=dt.date(2026, 5, 10), flat=None):
    """From 1 January 2026 the register rises 2 kWh a day from 1000.00 up to 1 July; from
    ``zero_from`` it reads 0 (the faulty meter); on the days of ``flat`` it does not move."""
    values, value, day = [], Decimal(1000), dt.date(2026, 1, 1)
    while day <= JULY:
        values.append(Decimal(0) if day >= zero_from else value)
        value += 0 if flat and flat[0] <= day < flat[1] else 2
        day += dt.timedelta(days=1)
    factories.readings(group, dt.date(2026, 1, 1), values)


def zero_case():
    anomalies_scan(as_of=JULY, now=NOW)
    return AnomalyCase.objects.get(kind="zero")


def own_history(billing, group, case, **parameters):
    return back_billing_compute(
        actor=billing, group_id=group.pk, case_id=case.pk, method="own_history",
        period_start=case.condition_since, period_end=JULY, now=NOW, parameters=parameters,
        confirm_over_bound=True,
    )  # fmt: skip
