"""``update_rows``: many rows saved in a few statements, each value as the ORM saves it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refmeter.billing.models import BillingRun
from refmeter.common import bulk
from refmeter.organisations.models import SupplyUnit
from tests import factories


@pytest.mark.django_db
def test_saves_json_dates_nulls_and_text_of_every_row_and_only_those(monkeypatch):
    unit = factories.unit(code="33501")
    runs = [
        BillingRun.objects.create(
            unit=factories.unit(code=f"335{n:02d}01", parent=unit),
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 2, 1),
            computed_at=dt.datetime(2026, 2, 2, tzinfo=dt.UTC),
        )
        for n in range(7)
    ]
    untouched = BillingRun.objects.create(
        unit=unit, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 2, 1),
        computed_at=dt.datetime(2026, 2, 2, tzinfo=dt.UTC), problems=[{"x": "留"}],
    )  # fmt: skip
    for index, run in enumerate(runs):
        run.problems = [{"account_number": f"17{index:08d}", "message": "缺少读数 'a\"b"}]
        run.period_end = dt.date(2026, 3, index + 1)
        run.closed_at = None if index % 2 else dt.datetime(2026, 3, 1, index, tzinfo=dt.UTC)
        run.status = "closed" if index % 2 else "open"
    monkeypatch.setattr(bulk, "UPDATE_PARAMETERS", 15)  # three rows a statement

    with CaptureQueriesContext(connection) as queries:
        updated = bulk.update_rows(
            BillingRun, runs, ["problems", "period_end", "closed_at", "status"]
        )

    assert updated == 7
    statements = [q for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 3)
    for index, run in enumerate(BillingRun.objects.exclude(pk=untouched.pk).order_by("pk")):
        assert run.problems == [{"account_number": f"17{index:08d}", "message": "缺少读数 'a\"b"}]
        assert run.period_end == dt.date(2026, 3, index + 1)
        assert run.closed_at == (
            None if index % 2 else dt.datetime(2026, 3, 1, index, tzinfo=dt.UTC)
        )
        assert run.status == ("closed" if index % 2 else "open")
    untouched.refresh_from_db()
    assert (untouched.problems, untouched.period_end) == ([{"x": "留"}], dt.date(2026, 2, 1))
    assert SupplyUnit.objects.count() == 8
    assert bulk.update_rows(BillingRun, [], ["status"]) == 0
