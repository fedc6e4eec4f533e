from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from refmeter.billing.services import tariff_create
from refmeter.organisations.models import Role
from tests import factories


@pytest.fixture
def group(city):
    """A group of 3 points from 1 January 2026 on the single-rate tariff LV-NONRES, 0.6580."""
    tariff_create(
        code="LV-NONRES", name="一般工商业", effective_from=dt.date(2020, 1, 1),
        price=Decimal("0.6580"),
    )  # fmt: skip
    created = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    return factories.group_terms(created, actor=city.south_admin, tariff_code="LV-NONRES")


@pytest.fixture
def billing(city):
    return factories.user(unit=city.south, role=Role.BILLING, username="biller")


@pytest.fixture
def second_billing(city):
    return factories.user(unit=city.south, role=Role.BILLING, username="approver")


@pytest.fixture
def history(city, group):
    """The back-billing tests' group: March-May 2 kWh a day (normal); June: the meter records
    only 1 kWh a day."""
    start = dt.date(2026, 3, 1)
    values, value = [], Decimal(500)
    for day in range(123):
        values.append(value)
        value += 2 if start + dt.timedelta(days=day) < dt.date(2026, 6, 1) else 1
    factories.readings(group, start, values)


@pytest.fixture
def north_billing(city):
    return factories.user(unit=city.north, role=Role.BILLING, username="north_biller")
