from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from urllib.parse import quote

import openpyxl
import pytest
from django.urls import reverse

from refmeter.billing.models import Bill
from refmeter.organisations.models import Role
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def june(group):
    factories.readings(group, dt.date(2026, 6, 1), [Decimal(1000) + 3 * d for d in range(31)])
    return group


class TestBillingPages:
    def test_billing_staff_bill_a_month_open_a_bill_and_export_the_run(self, client, city, june):
        client.force_login(factories.user(unit=city.south, role=Role.BILLING))

        client.post(reverse("billing:runs"), {"period": "2026-06"})
        bill = Bill.objects.get()
        page = client.get(reverse("billing:bill", args=[bill.pk])).content.decode()
        export = client.get(reverse("billing:run_export", args=[bill.run_id]))

        assert '<strong data-testid="billed-energy">270.00</strong>' in page
        rows = list(
            openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True)
        )
        assert rows[1][:2] == (bill.number, bill.base_account_number)
        assert rows[1][12:16] == (270, 177.66, 0, 177.66)
        assert export["Content-Disposition"] == "attachment; filename*=utf-8''" + quote(
            f"电费_{city.south.name}_2026-06.xlsx"
        )

    def test_a_clerk_cannot_run_billing(self, client, city, june):
        client.force_login(city.south_clerk)

        page = client.post(reverse("billing:runs"), {"period": "2026-06"}, follow=True)

        assert "只有电费人员可以执行此操作。" in page.content.decode()
        assert Bill.objects.count() == 0
