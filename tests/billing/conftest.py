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
