from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase
from refmeter.anomalies.services import anomalies_scan
from refmeter.billing.models import BackBilling, Bill
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
        assert rows[1][0] == bill.base_account_number
        assert rows[1][11:15] == (270, 177.66, 0, 177.66)

    def test_a_clerk_cannot_run_billing(self, client, city, june):
        client.force_login(city.south_clerk)

        page = client.post(reverse("billing:runs"), {"period": "2026-06"}, follow=True)

        assert "只有电费人员可以执行此操作。" in page.content.decode()
        assert Bill.objects.count() == 0

    def test_back_billing_from_a_case_shows_its_steps_and_is_approved(self, client, city, june):
        factories.readings(june, dt.date(2026, 7, 1) + dt.timedelta(days=1), [1090] * 5)
        anomalies_scan(as_of=dt.date(2026, 7, 6), now=NOW)
        case = AnomalyCase.objects.get(kind="stopped")
        computer = factories.user(unit=city.south, role=Role.BILLING, username="b1")
        approver = factories.user(unit=city.south, role=Role.BILLING, username="b2")
        client.force_login(computer)

        response = client.post(
            reverse("billing:back_billing_new"),
            {"case": case.pk, "method": "rated", "period_start": "2026-06-01",
             "period_end": "2026-07-01"},
        )  # fmt: skip
        item = BackBilling.objects.get()
        steps = client.get(response["Location"]).content.decode()
        client.force_login(approver)
        client.post(reverse("billing:back_billing_approve", args=[item.pk]))

        item.refresh_from_db()
        # 9.6 kWh x 90 point-days = 864.00 due; 270.00 billed; 594.00 x 0.6580 = 390.85
        assert (item.energy, item.amount, item.status) == (
            Decimal("594.00"),
            Decimal("390.85"),
            "approved",
        )
        assert "单点日电量 = 额定功率 × 日运行小时 ÷ 1000" in steps
