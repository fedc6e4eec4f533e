"""``field__any_of``: one array parameter on PostgreSQL, ``IN`` elsewhere, same rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refmeter.organisations.models import SupplyUnit
from tests import factories


@pytest.mark.django_db
def test_finds_the_same_rows_as_in_with_one_parameter_on_postgresql():
    for code in ("33501", "33502", "33503"):
        factories.unit(code=code)
    wanted = ["33501", "33503", "99999", *[f"x{n}" for n in range(2000)]]

    with CaptureQueriesContext(connection) as queries:
        found = sorted(
            SupplyUnit.objects.filter(code__any_of=wanted).values_list("code", flat=True)
        )

    assert found == ["33501", "33503"]
    assert found == sorted(
        SupplyUnit.objects.filter(code__in=wanted[:500]).values_list("code", flat=True)
    )
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    assert list(SupplyUnit.objects.filter(code__any_of=[])) == []


@pytest.mark.django_db
def test_integer_keys_and_foreign_keys_are_compared_as_integers():
    company = factories.unit(code="33501")
    units = [factories.unit(code=f"335{n:02d}01", parent=company) for n in range(4)]
    wanted = [units[0].pk, units[2].pk, 10**9, *range(10**8, 10**8 + 3000)]

    with CaptureQueriesContext(connection) as queries:
        by_key = sorted(SupplyUnit.objects.filter(pk__any_of=wanted).values_list("pk", flat=True))
        by_parent = SupplyUnit.objects.filter(parent__any_of=[company.pk]).count()
        by_parent_id = SupplyUnit.objects.filter(parent_id__any_of=[str(company.pk)]).count()

    assert by_key == [units[0].pk, units[2].pk]
    assert (by_parent, by_parent_id) == (4, 4)
    if connection.vendor == "postgresql":
        assert all("= ANY(" in query["sql"] for query in queries)
