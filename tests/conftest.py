from __future__ import annotations

from dataclasses import dataclass

import pytest

from refmeter.organisations.models import Role, SupplyUnit, User
from refmeter.registry.models import AccessPoint, TransformerArea
from tests import factories


@dataclass
class City:
    """Company 33501 with two service areas; an administrator and a clerk in each."""

    company: SupplyUnit
    south: SupplyUnit
    north: SupplyUnit
    admin: User
    south_admin: User
    south_clerk: User
    north_admin: User
    north_clerk: User
    south_area: TransformerArea
    south_place: AccessPoint
    south_other_area: TransformerArea
    south_other_place: AccessPoint
    north_area: TransformerArea
    north_place: AccessPoint


@pytest.fixture
def city(db: None) -> City:
    company = factories.unit(code="33501")
    south = factories.unit(code="3350101", parent=company, prefix="1702")
    north = factories.unit(code="3350102", parent=company, prefix="1703")
    admin = factories.user(unit=company, username="admin")
    south_admin = factories.user(unit=south, username="south_admin")
    north_admin = factories.user(unit=north, username="north_admin")
    south_area = factories.area(actor=south_admin, unit=south, number="3310000001")
    south_other_area = factories.area(actor=south_admin, unit=south, number="3310000002")
    north_area = factories.area(actor=north_admin, unit=north, number="3320000001")
    return City(
        company=company,
        south=south,
        north=north,
        admin=admin,
        south_admin=south_admin,
        south_clerk=factories.user(unit=south, role=Role.CLERK, username="south_clerk"),
        north_admin=north_admin,
        north_clerk=factories.user(unit=north, role=Role.CLERK, username="north_clerk"),
        south_area=south_area,
        south_place=factories.access_point(
            actor=south_admin, area=south_area, number="33503000009083788"
        ),
        south_other_area=south_other_area,
        south_other_place=factories.access_point(
            actor=south_admin, area=south_other_area, number="33503000009083799"
        ),
        north_area=north_area,
        north_place=factories.access_point(
            actor=north_admin, area=north_area, number="33503000009084001"
        ),
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    # A request in English leaves English active in the thread; start each test in Chinese.
    from django.utils import translation

    translation.activate("zh-hans")
    yield
    translation.activate("zh-hans")


@pytest.fixture
def nearby_index(city):
    """The marketing system's index for the numbers used in the spreadsheet fixtures."""
    from refmeter.registry.services import nearby_index_load
    from tests.factories import NOW

    nearby_index_load(
        actor=city.south_admin,
        rows=[
            ["就近户号/局号", "接入点编号"],
            ["1701636729", city.south_place.number],
            ["1701636730", city.south_other_place.number],
            ["1701636731", city.south_place.number],
            ["1701636732", city.south_other_place.number],
        ],
        now=NOW,
    )
