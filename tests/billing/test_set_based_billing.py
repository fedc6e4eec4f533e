"""The set-based billing computation against the one it replaced (reference_bills.py).

One crafted June holds what changes a bill: points added, cancelled and moved mid-month,
a group created and one closed mid-month, a price change, a CT ratio and a tariff code
change, time of use (with awkward roundings), a missing reading, unbalanced registers, an
approved back-billing waiting for its bill, and groups of another unit. Each way computes
the month, then the month is changed and computed again; every bill, per-point row,
revision, problem and adjustment posting must be the same, to the cent."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction

from refmeter.billing.models import (
    BackBilling,
    BackBillingStatus,
    Bill,
    BillAdjustment,
    BillingRun,
    BillPoint,
    BillRevision,
)
from refmeter.billing.services import billing_run, tariff_create
from refmeter.billing.services import runs as runs_module
from refmeter.readings.models import MeterReading
from refmeter.registry.models import PointKind
from refmeter.registry.services import (
    PointInput,
    group_close,
    point_update,
    sub_account_cancel,
    sub_accounts_add,
)
from tests import factories
from tests.billing import reference_bills

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 7, 3, 2, 0, tzinfo=dt.UTC)
JUNE = dt.date(2026, 6, 1)
TOU = {"sharp": Decimal("1.1"), "peak": Decimal("0.8123"), "flat": Decimal("0.6"),
       "valley": Decimal("0.3071")}  # fmt: skip


class Rollback(Exception):
    pass


def add_points(city, group, day, count=1, place=None):
    return sub_accounts_add(
        actor=city.south_admin, group_id=group.pk,
        points=[PointInput(name=f"点位{index}", device_address="城南",
                           access_point_number=(place or city.south_place).number,
                           active_from_date=day) for index in range(count)],
        now=NOW,
    )  # fmt: skip


def daily(days, first, step):
    return [first + step * day for day in range(days)]


def uneven(seed, days, first):
    """A register rising by odd amounts, so the roundings land everywhere."""
    chooser = random.Random(seed)
    values, value = [], first
    for _day in range(days):
        values.append(value)
        value += Decimal(chooser.randint(0, 997)) / 100
    return values


@pytest.fixture
def month(city):
    tariff_create(code="LV-NONRES", name="一般工商业", effective_from=dt.date(2020, 1, 1),
                  price=Decimal("0.6580"))  # fmt: skip
    tariff_create(code="LV-NONRES", name="调价", effective_from=dt.date(2026, 6, 16),
                  price=Decimal("0.7013"))  # fmt: skip
    tariff_create(code="LV-B", name="其他", effective_from=dt.date(2020, 1, 1),
                  price=Decimal("1.0000"))  # fmt: skip
    tariff_create(code="LV-TOU", name="分时", effective_from=dt.date(2020, 1, 1),
                  time_of_use=TOU)  # fmt: skip
    admin = city.south_admin

    def new_group(*, subs, unit=None, place=None, actor=None, active_from=dt.date(2026, 1, 1),
                  tariff="LV-NONRES"):  # fmt: skip
        created = factories.group(
            actor=actor or admin, unit=unit or city.south, place=place or city.south_place,
            sub_accounts=subs, active_from=active_from,
        )  # fmt: skip
        return factories.group_terms(created, actor=actor or admin, tariff_code=tariff)

    groups = {}
    # Moves: one point added on the 20th, one cancelled on the 11th, one moved to another
    # area on the 8th, three added on the 3rd in the other area.
    moving = groups["moving"] = new_group(subs=4)
    add_points(city, moving, dt.date(2026, 6, 20))
    add_points(city, moving, dt.date(2026, 6, 3), count=3, place=city.south_other_place)
    subs = list(moving.points.filter(kind=PointKind.SUB).order_by("account_number"))
    sub_account_cancel(actor=admin, point_id=subs[0].pk, active_to_date=dt.date(2026, 6, 11),
                       now=NOW)  # fmt: skip
    point_update(actor=admin, point_id=subs[1].pk, now=NOW, reason="迁移",
                 access_point_number=city.south_other_place.number,
                 effective_date=dt.date(2026, 6, 8))  # fmt: skip
    factories.readings(moving, JUNE, uneven(1, 31, Decimal("1000.00")))
    # Time of use with uneven registers; the price changes do not touch it.
    tou = groups["tou"] = new_group(subs=6, tariff="LV-TOU")
    add_points(city, tou, dt.date(2026, 6, 13), count=2)
    totals = uneven(2, 31, Decimal("5000.00"))
    sharp, peak, valley = uneven(3, 31, Decimal(100)), uneven(4, 31, Decimal(200)), []
    for index, total in enumerate(totals):
        used = total - totals[0] - (sharp[index] - sharp[0]) - (peak[index] - peak[0])
        valley.append(Decimal(300) + max(Decimal(0), used / 3).quantize(Decimal("0.01")))
    flat = [Decimal(400)] * 31
    factories.readings(tou, JUNE, totals,
                       registers={"sharp": [s / 4 for s in sharp], "peak": [p / 4 for p in peak],
                                  "flat": flat, "valley": valley})  # fmt: skip
    # Closed on the 21st: a final bill up to it.
    closing = groups["closing"] = new_group(subs=2)
    factories.readings(closing, JUNE, uneven(5, 31, Decimal("300.00")))
    group_close(actor=admin, group_id=closing.pk, closure_date=dt.date(2026, 6, 21), now=NOW,
                work_order="GD1")  # fmt: skip
    # Created on the 10th.
    late = groups["late"] = new_group(subs=3, active_from=dt.date(2026, 6, 10))
    factories.readings(late, dt.date(2026, 6, 10), uneven(6, 22, Decimal("0.00")))
    # CT ratio 3 from the 16th, tariff code LV-B from the 11th.
    terms = groups["terms"] = new_group(subs=5)
    factories.readings(terms, JUNE, uneven(7, 31, Decimal("800.00")))
    factories.group_terms(terms, actor=admin, from_date=dt.date(2026, 6, 11),
                          tariff_code="LV-B")  # fmt: skip
    factories.group_terms(terms, actor=admin, from_date=dt.date(2026, 6, 16), ct_ratio=3)
    # No reading on 16 June, where the price changes: unbilled.
    missing = groups["missing"] = new_group(subs=1)
    factories.readings(missing, JUNE, daily(15, Decimal(10), 2))
    factories.readings(missing, dt.date(2026, 6, 17), daily(15, Decimal(44), 2))
    # Registers larger than the total: unbalanced, unbilled.
    unbalanced = groups["unbalanced"] = new_group(subs=1, tariff="LV-TOU")
    factories.readings(unbalanced, JUNE, daily(31, Decimal(10), 1),
                       registers={key: daily(31, Decimal(1), 1) for key in TOU})  # fmt: skip
    # An approved back-billing waiting for the next bill.
    plain = groups["plain"] = new_group(subs=9)
    factories.readings(plain, JUNE, uneven(8, 31, Decimal("12.34")))
    back_billing = BackBilling.objects.create(
        group=plain, method="multiplier", period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2026, 5, 1), energy=Decimal("33.00"), price=Decimal("0.6580"),
        amount=Decimal("21.71"), status=BackBillingStatus.APPROVED, created_by=admin,
        created_at=NOW, approved_by=city.admin, approved_at=NOW,
    )  # fmt: skip
    BillAdjustment.objects.create(
        group=plain, back_billing=back_billing, description="倍率不符追补", energy=Decimal(33),
        amount=Decimal("21.71"), created_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
    )  # fmt: skip
    # Another unit's groups: a run of their own.
    for seed in range(3):
        north = new_group(subs=seed * 4, unit=city.north, place=city.north_place,
                          actor=city.north_admin)  # fmt: skip
        factories.readings(north, JUNE, uneven(20 + seed, 31, Decimal(seed * 100)))
    # Groups of random sizes with points joining and leaving on random days.
    chooser = random.Random(42)
    for seed in range(6):
        group = new_group(subs=chooser.randint(0, 12))
        for _ in range(chooser.randint(0, 3)):
            add_points(city, group, JUNE + dt.timedelta(days=chooser.randint(0, 29)))
        for point in group.points.filter(kind=PointKind.SUB)[: chooser.randint(0, 3)]:
            sub_account_cancel(actor=admin, point_id=point.pk, now=NOW,
                               active_to_date=JUNE + dt.timedelta(days=chooser.randint(1, 29)))  # fmt: skip
        factories.readings(group, JUNE, uneven(100 + seed, 31, Decimal(seed * 1000)))
    return groups


def snapshot():
    """Everything the run wrote, keyed so that ids do not matter."""
    number = dict(Bill.objects.values_list("pk", "number"))
    bills = sorted(
        tuple((key, value) for key, value in row.items() if key not in {"id", "run_id"})
        for row in Bill.objects.values()
    )
    detail = sorted(
        (number[bill_id], account, name, area, days, energy_value)
        for bill_id, account, name, area, days, energy_value in BillPoint.objects.values_list(
            "bill_id", "account_number", "name", "area_number", "active_days", "energy"
        )
    )
    revisions = sorted(
        (number[bill_id], revision, sorted(figures.items()), replaced_at)
        for bill_id, revision, figures, replaced_at in BillRevision.objects.values_list(
            "bill_id", "revision", "figures", "replaced_at"
        )
    )
    runs = sorted(
        (unit_id, start, sorted(tuple(sorted(p.items())) for p in problems))
        for unit_id, start, problems in BillingRun.objects.values_list(
            "unit_id", "period_start", "problems"
        )
    )
    postings = sorted(
        (back_billing_id, number.get(bill_id))
        for back_billing_id, bill_id in BillAdjustment.objects.values_list(
            "back_billing_id", "bill_id"
        )
    )
    return {"bills": bills, "detail": detail, "revisions": revisions, "runs": runs,
            "postings": postings}  # fmt: skip


def outcome(monkeypatch, compute, steps):
    """Run ``steps`` with ``compute`` as the billing computation; what each step left,
    then roll everything back."""
    seen = []
    monkeypatch.setattr(runs_module, "bills_compute", compute)
    try:
        with transaction.atomic():
            for step in steps:
                step()
                seen.append(snapshot())
            raise Rollback
    except Rollback:
        pass
    monkeypatch.undo()
    return seen


def test_the_set_based_bills_equal_the_old_ones(city, month, monkeypatch):
    def first():
        billing_run(actor=None, period="2026-06", now=NOW)

    def changed():
        # A corrected reading, a new CT ratio, a reading removed (the bill is withdrawn),
        # the missing reading supplied (a new bill), a point added and the run recomputed.
        reading = MeterReading.objects.get(group=month["plain"], reading_date=dt.date(2026, 7, 1))
        reading.forward_total += Decimal("17.77")
        reading.save()
        factories.group_terms(month["moving"], actor=city.south_admin,
                              from_date=dt.date(2026, 6, 25), ct_ratio=2)  # fmt: skip
        MeterReading.objects.filter(group=month["late"], reading_date=dt.date(2026, 7, 1)).delete()
        factories.readings(month["missing"], dt.date(2026, 6, 16), [Decimal(43)])
        add_points(city, month["tou"], dt.date(2026, 6, 29))
        billing_run(actor=None, period="2026-06", now=LATER)

    def again():
        # Nothing in the figures changes; a point's new name still reaches the detail.
        point = month["plain"].points.filter(kind=PointKind.SUB).order_by("pk").first()
        point_update(actor=city.south_admin, point_id=point.pk, now=LATER, reason="更名",
                     name="改名后的点位")  # fmt: skip
        billing_run(actor=None, period="2026-06", now=LATER)

    steps = [first, changed, again]
    current = runs_module.bills_compute
    old = outcome(monkeypatch, reference_bills.bills_compute, steps)
    new = outcome(monkeypatch, current, steps)

    assert len(old[0]["bills"]) == 15  # 8 + 6 random in the south, less 2 unbilled, 3 north
    assert len(old[0]["detail"]) > 80
    assert old[1]["revisions"] and old[0]["postings"][0][1] is not None
    assert old[2]["revisions"] == old[1]["revisions"]
    assert "改名后的点位" in {row[2] for row in old[2]["detail"]}
    for step, (before, after) in enumerate(zip(old, new, strict=True)):
        for key in before:
            assert after[key] == before[key], (step, key)
