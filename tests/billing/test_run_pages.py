"""The billing pages: a unit's months, the confirmed close, and nothing of other units."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from refmeter.billing.models import Bill, BillingRun, RunStatus
from refmeter.organisations.models import Role
from refmeter.readings.models import MeterReading
from tests import factories


@pytest.fixture
def june(group):
    factories.readings(group, dt.date(2026, 6, 1), [Decimal(1000) + 3 * d for d in range(31)])
    return group


@pytest.fixture
def unbilled(city):
    """A second 城南 group with no tariff: it cannot be billed."""
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip


@pytest.fixture
def south_biller(client, city):
    user = factories.user(unit=city.south, role=Role.BILLING, username="south_biller")
    client.force_login(user)
    return user


class TestRunPages:
    def test_billing_a_month_opens_its_run_with_what_was_billed_and_why_not(
        self, client, june, unbilled, south_biller
    ):
        response = client.post(reverse("billing:runs"), {"period": "2026-06"}, follow=True)

        page = response.content.decode()
        run = BillingRun.objects.get()
        assert response.redirect_chain[-1][0] == reverse("billing:run", args=[run.pk])
        assert '<strong data-testid="billed-count">1</strong>' in page
        assert '<strong data-testid="unbilled-count">1</strong>' in page
        assert "没有电价：1 户" in page
        assert "单位3350101 2026-06：已出账 1 户，未出账 1 户。" in page

    def test_a_future_month_is_refused_on_the_page_and_nothing_is_written(
        self, client, june, south_biller
    ):
        response = client.post(reverse("billing:runs"), {"period": "2099-01"}, follow=True)

        assert "2099-01 尚未结束：只能为已经结束的月份出账（月末须早于今天）。" in (
            response.content.decode()
        )
        assert BillingRun.objects.count() == 0

    def test_closing_asks_for_confirmation_and_for_consent_to_unbilled_groups(
        self, client, june, unbilled, south_biller
    ):
        client.post(reverse("billing:runs"), {"period": "2026-06"})
        run = BillingRun.objects.get()
        url = reverse("billing:run_close", args=[run.pk])

        confirm_page = client.get(url).content.decode()
        unconfirmed = client.post(url, {}, follow=True).content.decode()
        no_consent = client.post(url, {"confirm": "1"}, follow=True).content.decode()
        run.refresh_from_db()
        status_before = run.status
        client.post(url, {"confirm": "1", "allow_unbilled": "1"})
        run.refresh_from_db()

        assert "仍有 1 户未出账，确认这些户不在本账期出账" in confirm_page
        assert "请勾选确认后再关账。" in unconfirmed
        assert "还有 1 户未出账，不能关账" in no_consent
        assert (status_before, run.status) == (RunStatus.OPEN, RunStatus.CLOSED)

    def test_another_units_run_and_bill_are_not_found(self, client, city, june, south_biller):
        client.post(reverse("billing:runs"), {"period": "2026-06"})
        run, bill = BillingRun.objects.get(), Bill.objects.get()
        client.force_login(factories.user(unit=city.north, role=Role.BILLING))

        pages = [
            client.get(reverse("billing:run", args=[run.pk])),
            client.get(reverse("billing:run_close", args=[run.pk])),
            client.post(reverse("billing:run_close", args=[run.pk]), {"confirm": "1"}),
            client.get(reverse("billing:run_export", args=[run.pk])),
            client.get(reverse("billing:bill", args=[bill.pk])),
        ]
        listing = client.get(reverse("billing:runs")).content.decode()

        assert [page.status_code for page in pages] == [404, 404, 404, 404, 404]
        assert reverse("billing:run", args=[run.pk]) not in listing
        assert BillingRun.objects.get().status == RunStatus.OPEN

    def test_the_run_page_queries_do_not_grow_with_its_bills(
        self, client, city, june, south_biller, django_assert_max_num_queries
    ):
        for _ in range(5):
            extra = factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place,
                active_from=dt.date(2026, 1, 1),
            )  # fmt: skip
            factories.group_terms(extra, actor=city.south_admin, tariff_code="LV-NONRES")
            factories.readings(extra, dt.date(2026, 6, 1), [Decimal(10) + d for d in range(31)])
        client.post(reverse("billing:runs"), {"period": "2026-06"})
        run = BillingRun.objects.get()

        with django_assert_max_num_queries(12):
            page = client.get(reverse("billing:run", args=[run.pk]))

        assert page.content.decode().count('href="/billing/bills/') == 6

    def test_a_recomputed_bill_keeps_its_address_and_shows_its_revisions(
        self, client, june, south_biller
    ):
        client.post(reverse("billing:runs"), {"period": "2026-06"})
        bill = Bill.objects.get()
        MeterReading.objects.filter(reading_date=dt.date(2026, 7, 1)).update(
            forward_total=Decimal("1120.00")
        )
        client.post(reverse("billing:runs"), {"period": "2026-06"})

        page = client.get(reverse("billing:bill", args=[bill.pk])).content.decode()

        assert f"账单号 {bill.number}" in page
        assert '<strong data-testid="billed-energy">360.00</strong>' in page
        assert 'data-testid="revisions"' in page and "270.00" in page


class TestRefusalsThatShow:
    def test_opening_a_form_address_directly_says_why_in_chinese(self, client, south_biller):
        response = client.get(reverse("billing:back_billing_approve", args=[1]))

        assert response.status_code == 405
        assert "此操作须通过页面上的按钮提交，不能直接打开地址。" in response.content.decode()

    @pytest.mark.parametrize(
        ("period", "message"),
        [
            ("2026-1", "账期“2026-1”格式不正确，应为 YYYY-MM，例如 2026-10。"),
            ("9" * 30, f"账期“{'9' * 20}…”格式不正确，应为 YYYY-MM，例如 2026-10。"),
        ],
    )
    def test_a_malformed_period_is_named_in_the_message(
        self, client, june, south_biller, period, message
    ):
        response = client.post(reverse("billing:runs"), {"period": period}, follow=True)

        assert message in response.content.decode()
        assert BillingRun.objects.count() == 0

    def test_a_clerk_cannot_open_the_back_billing_form(self, client, city, june):
        client.force_login(city.south_clerk)

        response = client.get(reverse("billing:back_billing_new"), {"case": "1"})

        assert response.status_code == 403
        assert "只有电费人员可以执行此操作。" in response.content.decode()
