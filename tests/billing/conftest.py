from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from refmeter.billing.services import tariff_create
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
    created.tariff_code = "LV-NONRES"
    created.save(update_fields=["tariff_code"])
    return created
