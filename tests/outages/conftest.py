"""Fixtures of the outage sending tests: the SMS gateway, a sender, a street of groups."""

from __future__ import annotations

import pytest

from refmeter.organisations.models import Role
from refmeter.registry.models import Customer
from tests import factories
from tests.outages.sending import (
    PHONE_A,
    FakeGateway,
)


@pytest.fixture
def gateway(settings):
    fake = FakeGateway()
    settings.REFMETER_SMS_BACKEND = "refmeter.outages.sms.HttpGateway"
    settings.REFMETER_SMS_GATEWAY_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def sender(city):
    """Customer managers send the notices (docs/permissions.md)."""
    return factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER, username="sender")


@pytest.fixture
def street(city):
    """Area 0001: customer A's group (3 points, SMS number 13900000001) and customer B's
    group (2 points, SMS number typed with spaces); area 0002: customer C's group."""
    groups = []
    for number, subs, place in (
        (PHONE_A, 2, city.south_place),
        ("139 0000 0002", 1, city.south_place),
        ("13900000003", 1, city.south_other_place),
    ):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        Customer.objects.filter(pk=customer.pk).update(sms_number=number)
        groups.append(
            factories.group(actor=city.south_admin, unit=city.south, place=place,
                            sub_accounts=subs, customer_record=customer)
        )  # fmt: skip
    return groups
