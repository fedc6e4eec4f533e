"""A run's bills as a list: paged with the total, sorted and filtered from the URL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.billing.models import Bill, BillingRun
from refmeter.organisations.models import Role
from tests import factories


@pytest.fixture
def run(client, city, group):
    """June billed for the one group; the biller is logged in."""
    factories.readings(group, dt.date(2026, 6, 1), [Decimal(1000) + 3 * d for d in range(31)])
    client.force_login(factories.user(unit=city.south, role=Role.BILLING))
    client.post(reverse("billing:runs"), {"period": "2026-06"})
    return BillingRun.objects.get()


def _more_bills(city, run, count: int) -> None:
    """``count`` more bills in the run, copies of its first with their own group, number,
    account, customer and amount (bill i owes 100 + i yuan)."""
    model = Bill.objects.get(run=run)
    bills = []
    for index in range(count):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        model.pk = None
        model.group = group
        model.number = f"ZD202606{index:05d}"
        model.base_account_number = f"1799{index:06d}"
        model.customer_name = f"客户{index:02d}"
        model.total_amount = Decimal(100 + index)
        bills.append(Bill(**{f.attname: getattr(model, f.attname) for f in Bill._meta.fields}))
    Bill.objects.bulk_create(bills)


def _accounts(response) -> list[str]:
    return [bill.base_account_number for bill in response.context["listing"].rows]


class TestPaging:
    def test_page_two_holds_the_rest_and_the_total_is_shown(self, client, city, run):
        _more_bills(city, run, 59)
        every = sorted(Bill.objects.values_list("base_account_number", flat=True))

        first = client.get(reverse("billing:run", args=[run.pk]))
        second = client.get(reverse("billing:run", args=[run.pk]), {"page": "2"})

        assert _accounts(first) == every[:50]
        assert _accounts(second) == every[50:]
        assert "共 60 条，显示第 1–50 条" in first.content.decode()

    def test_the_same_queries_for_3_or_60_bills(self, client, city, run):
        _more_bills(city, run, 2)
        client.get(reverse("billing:run", args=[run.pk]))
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("billing:run", args=[run.pk]))
        Bill.objects.filter(number__startswith="ZD202606").delete()
        _more_bills(city, run, 59)

        with CaptureQueriesContext(connection) as many:
            response = client.get(reverse("billing:run", args=[run.pk]))

        assert response.context["listing"].total == 60
        assert len(many.captured_queries) == len(few.captured_queries)


class TestSortingAndFiltering:
    def test_the_largest_amounts_first(self, client, city, run):
        _more_bills(city, run, 5)

        response = client.get(reverse("billing:run", args=[run.pk]), {"sort": "-total_amount"})

        amounts = [bill.total_amount for bill in response.context["listing"].rows]
        assert amounts == [Decimal("177.66"), *(Decimal(f"{100 + i}.00") for i in (4, 3, 2, 1, 0))]

    def test_by_customer_name(self, client, city, run):
        _more_bills(city, run, 12)

        response = client.get(reverse("billing:run", args=[run.pk]), {"text": "客户1"})

        assert _accounts(response) == [f"1799{index:06d}" for index in (10, 11)]

    def test_by_base_account_prefix(self, client, city, run):
        _more_bills(city, run, 12)

        response = client.get(reverse("billing:run", args=[run.pk]), {"text": "179900000"})

        assert _accounts(response) == [f"1799{index:06d}" for index in range(10)]

    def test_an_unknown_kind_is_refused_with_a_message(self, client, city, run):
        response = client.get(reverse("billing:run", args=[run.pk]), {"kind": "free"})

        assert response.status_code == 200
        assert _accounts(response) == []
        assert "类型：选择一个有效的选项。 free 不在可用的选项中。" in response.content.decode()

    def test_the_marketing_export_holds_the_whole_run_whatever_the_filters(self, client, city, run):
        import io

        import openpyxl

        _more_bills(city, run, 4)

        export = client.get(reverse("billing:run_export", args=[run.pk]), {"text": "客户01"})

        sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
        assert sheet.max_row == 1 + 5
