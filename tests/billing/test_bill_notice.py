"""The bill notice (电费通知单): the bill's figures on paper, from the bill itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pypdfium2
import pytest
from django.urls import reverse

from refmeter.billing.models import Bill
from refmeter.billing.services import billing_run, tariff_create
from refmeter.organisations.models import Role
from tests import factories
from tests.labels.test_label_print import font_objects

JUNE = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


def pdf_pages(data: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    pages = [page.get_textpage().get_text_range().replace("\r\n", "\n") for page in document]
    document.close()
    return pages


@pytest.fixture
def tou_june(city, group):
    tariff_create(code="LV-TOU", name="分时", effective_from=dt.date(2020, 1, 1),
                  time_of_use={"sharp": Decimal("1.0"), "peak": Decimal("0.8"),
                               "flat": Decimal("0.6"), "valley": Decimal("0.3")})  # fmt: skip
    factories.group_terms(group, actor=city.south_admin, tariff_code="LV-TOU")
    days = range(31)
    factories.readings(
        group, JUNE, [Decimal(1000) + 3 * d for d in days],
        registers={"sharp": [Decimal(100) + Decimal("0.5") * d for d in days],
                   "peak": [Decimal(300) + 1 * d for d in days],
                   "flat": [Decimal(400) + 1 * d for d in days],
                   "valley": [Decimal(200) + Decimal("0.5") * d for d in days]},
    )  # fmt: skip
    return group


class TestBillNotice:
    def test_it_prints_the_readings_terms_point_days_split_and_amount(
        self, client, city, tou_june, billing, settings
    ):
        settings.REFMETER_UTILITY_NAME = "国网绍兴供电公司"
        billing_run(actor=billing, period="2026-06", now=NOW)
        bill = Bill.objects.get()
        client.force_login(billing)

        response = client.get(reverse("billing:bill_notice", args=[bill.pk]))

        assert response["Content-Type"] == "application/pdf"
        # cells wrap: compare with the lines joined
        text = " ".join(" ".join(pdf_pages(response.content)).split())
        for expected in (
            "国网绍兴供电公司", "电费通知单", f"账单号 {bill.number}", "账期 2026-06",
            bill.customer_name, bill.base_account_number, "LV-TOU",
            "2026-06-01 — 2026-06-30", "1000.00 / 1090.00", "90.00 kWh", "30 / 90",
            "270.00 kWh", "184.50 元", "应收电费",
            "尖 45.00 · 峰 90.00 · 平 90.00 · 谷 45.00", "尖 1.0000 · 峰 0.8000 · 平 0.6000 · 谷 0.3000",
        ):  # fmt: skip
            assert expected in text, expected
        names, descriptors, files = font_objects(response.content)
        assert len(names) == 1 and descriptors == files == 1

    def test_another_units_bill_is_not_printed(self, client, city, tou_june, billing):
        billing_run(actor=billing, period="2026-06", now=NOW)
        bill = Bill.objects.get()
        client.force_login(factories.user(unit=city.north, role=Role.BILLING))

        response = client.get(reverse("billing:bill_notice", args=[bill.pk]))

        assert response.status_code == 404
        assert "没有这张账单，或它不属于您的单位。" in response.content.decode()


class TestAMonthsNotices:
    def test_every_bill_of_the_run_starts_its_own_page(self, client, city, group, billing):
        second = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1,
            active_from=dt.date(2026, 1, 1),
        )  # fmt: skip
        factories.group_terms(second, actor=city.south_admin, tariff_code="LV-NONRES")
        for each in (group, second):
            factories.readings(each, JUNE, [Decimal(1000) + 3 * d for d in range(31)])
        billing_run(actor=billing, period="2026-06", now=NOW)
        bills = list(Bill.objects.order_by("base_account_number"))
        client.force_login(billing)

        response = client.get(reverse("billing:run_notices", args=[bills[0].run_id]))

        pages = pdf_pages(response.content)
        assert len(pages) == 2
        for page, bill in zip(pages, bills, strict=True):
            assert f"账单号 {bill.number}" in page
            assert f"{bill.total_amount:,.2f} 元" in page
