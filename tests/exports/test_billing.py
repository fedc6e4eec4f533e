"""The billing lists as workbooks: the months, a month's bill list, the back-billings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.billing.models import BackBilling, BackBillingStatus, Bill, BillingRun
from refmeter.billing.services import billing_run, tariff_create
from refmeter.organisations.models import Role, SupplyUnit
from refmeter.registry.models import Customer
from tests import factories
from tests.exports.helpers import (
    FORMULA,
    assert_date,
    assert_text_not_formula,
    assert_two_decimals,
    column,
    file_name,
    header,
    no_formulas,
    rows,
    sheet,
)

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _group(city, *, north: bool = False):
    """A group of 3 points from 1 January 2026 on LV-NONRES, read every day of June."""
    unit, admin, place = (
        (city.north, city.north_admin, city.north_place)
        if north
        else (city.south, city.south_admin, city.south_place)
    )
    created = factories.group(
        actor=admin, unit=unit, place=place, sub_accounts=2, active_from=dt.date(2026, 1, 1)
    )
    group = factories.group_terms(created, actor=admin, tariff_code="LV-NONRES")
    factories.readings(group, dt.date(2026, 6, 1), [Decimal(1000) + 3 * d for d in range(31)])
    return group


@pytest.fixture
def tariff(db):
    tariff_create(
        code="LV-NONRES", name="一般工商业", effective_from=dt.date(2020, 1, 1),
        price=Decimal("0.6580"),
    )  # fmt: skip


@pytest.fixture
def biller(city):
    return factories.user(unit=city.south, role=Role.BILLING, username="biller")


@pytest.fixture
def june(city, tariff, biller):
    """June billed in both service areas (the company's administrator runs it)."""
    _group(city)
    _group(city, north=True)
    billing_run(actor=city.admin, period="2026-06", now=NOW)
    return BillingRun.objects.get(unit=city.south)


def _more_bills(city, run, count: int, *, first: int = 0) -> None:
    """``count`` more bills in the run, copies of its first with their own group, number,
    account, customer and amount (bill i owes 100 + i yuan)."""
    model = Bill.objects.filter(run=run).order_by("pk").first()
    assert model is not None
    bills = []
    for index in range(first, first + count):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        model.pk = None
        model.group = group
        model.number = f"ZD202606{index:05d}"
        model.base_account_number = f"1799{index:06d}"
        model.customer_name = f"客户{index:02d}"
        model.total_amount = Decimal(100 + index)
        bills.append(Bill(**{f.attname: getattr(model, f.attname) for f in Bill._meta.fields}))
    Bill.objects.bulk_create(bills)


class TestRunsExport:
    def test_every_month_of_the_users_units_with_its_totals(self, client, city, june, biller):
        client.force_login(biller)

        response = client.get(reverse("billing:runs_export"))

        ws = sheet(response)
        assert header(ws) == ["账期", "供电单位", "状态", "计算时间", "关账时间", "已出账户数",
                              "未出账户数", "结算电量（kWh）", "应收电费（元）"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        bill = Bill.objects.get(run=june)
        assert rows(ws) == [
            ("2026-06", "单位3350101", "试算", dt.datetime(2026, 7, 2, 10, 0), None, 1, 0,
             float(bill.billed_energy), float(bill.total_amount)),
        ]  # fmt: skip
        assert_date(ws, 1, "计算时间")
        assert_two_decimals(ws, 1, "结算电量（kWh）", float(bill.billed_energy))
        assert_two_decimals(ws, 1, "应收电费（元）", float(bill.total_amount))
        assert file_name(response) == "电费账期_单位3350101_2026-07-02.xlsx"

    def test_the_company_sees_both_units_and_a_formula_in_a_name_stays_text(
        self, client, city, june
    ):
        SupplyUnit.objects.filter(pk=city.north.pk).update(name=FORMULA)
        client.force_login(city.admin)

        response = client.get(reverse("billing:runs_export"))

        ws = sheet(response)
        assert {FORMULA, "单位3350101"} <= set(column(ws, "供电单位"))
        assert_text_not_formula(ws, column(ws, "供电单位").index(FORMULA) + 1, "供电单位")
        assert no_formulas(response)


class TestRunBillListExport:
    def test_the_filtered_bills_in_the_pages_order(self, client, city, june, biller):
        _more_bills(city, june, 12)
        client.force_login(biller)

        response = client.get(
            reverse("billing:run_bills_export", args=[june.pk]),
            {"text": "客户1", "sort": "-total_amount"},
        )

        ws = sheet(response)
        assert header(ws) == ["账单号", "基准户号", "客户", "类型", "参考表电量", "点·天",
                              "结算电量", "退补金额", "应收电费"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert column(ws, "客户") == ["客户11", "客户10"]
        assert_two_decimals(ws, 1, "应收电费", 111.0)
        assert file_name(response) == "电费账单_单位3350101_2026-06.xlsx"

    def test_a_formula_in_a_customers_name_stays_text(self, client, city, june, biller):
        Bill.objects.filter(run=june).update(customer_name=FORMULA)
        client.force_login(biller)

        response = client.get(reverse("billing:run_bills_export", args=[june.pk]))

        assert_text_not_formula(sheet(response), 1, "客户")
        assert no_formulas(response)

    def test_another_units_month_is_not_found(self, client, city, june, biller):
        client.force_login(biller)
        north = BillingRun.objects.get(unit=city.north)

        response = client.get(reverse("billing:run_bills_export", args=[north.pk]))

        assert response.status_code == 404

    def test_a_kind_that_does_not_exist_is_refused(self, client, june, biller):
        client.force_login(biller)

        response = client.get(
            reverse("billing:run_bills_export", args=[june.pk]), {"kind": "bogus"}
        )

        assert response.status_code == 400
        assert "类型" in response.content.decode()

    def test_the_same_queries_for_3_or_9_bills(self, client, city, june, biller):
        _more_bills(city, june, 2)
        client.force_login(biller)
        url = reverse("billing:run_bills_export", args=[june.pk])
        with CaptureQueriesContext(connection) as few:
            assert len(rows(sheet(client.get(url)))) == 3
        _more_bills(city, june, 6, first=2)

        with CaptureQueriesContext(connection) as many:
            assert len(rows(sheet(client.get(url)))) == 9

        assert len(many) == len(few)


def _back_billings(city, count: int, *, north: bool = False, **values) -> list[BackBilling]:
    group = _group(city, north=north)
    actor = city.north_admin if north else city.south_admin
    return BackBilling.objects.bulk_create(
        BackBilling(
            group=group,
            method="rated",
            period_start=dt.date(2026, 6, 1),
            period_end=dt.date(2026, 7, 1),
            energy=Decimal("103.00") + index,
            price=Decimal("0.6580"),
            amount=Decimal("67.77") + index,
            created_by=actor,
            created_at=NOW - dt.timedelta(hours=count - index),
            **values,
        )
        for index in range(count)
    )


class TestBackBillingExport:
    def test_the_tabs_back_billings_newest_first_with_numbers_as_numbers(
        self, client, city, tariff, biller
    ):
        made = _back_billings(city, 3)
        _back_billings(city, 1, status=BackBillingStatus.WITHDRAWN)
        _back_billings(city, 2, north=True)
        client.force_login(biller)

        response = client.get(reverse("billing:back_billings_export"), {"status": "draft"})

        ws = sheet(response)
        assert header(ws)[:10] == [
            "编号", "状态", "基准户号", "客户", "异常", "计算方法", "退补期间开始",
            "退补期间结束（不含）", "退补电量（kWh）", "退补金额（元）",
        ]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert column(ws, "编号") == [item.pk for item in reversed(made)]
        assert_two_decimals(ws, 1, "退补电量（kWh）", 105.0)
        assert_two_decimals(ws, 1, "退补金额（元）", 69.77)
        assert_date(ws, 1, "退补期间开始")
        assert_date(ws, 1, "计算时间")
        assert file_name(response) == "退补_待审批_单位3350101_2026-07-02.xlsx"

    def test_a_formula_in_a_customers_name_stays_text(self, client, city, tariff, biller):
        [item] = _back_billings(city, 1)
        Customer.objects.filter(pk=item.group.customer_id).update(name=FORMULA)
        client.force_login(biller)

        response = client.get(reverse("billing:back_billings_export"))

        assert_text_not_formula(sheet(response), 1, "客户")
        assert no_formulas(response)

    def test_a_clerk_may_not_export_them(self, client, city, tariff):
        _back_billings(city, 1)
        client.force_login(city.south_clerk)

        response = client.get(reverse("billing:back_billings_export"))

        assert response.status_code == 403
        assert "application/vnd" not in response["Content-Type"]

    def test_the_same_queries_for_3_or_9_back_billings(self, client, city, tariff, biller):
        _back_billings(city, 3)
        client.force_login(biller)
        url = reverse("billing:back_billings_export")
        with CaptureQueriesContext(connection) as few:
            assert len(rows(sheet(client.get(url)))) == 3
        _back_billings(city, 6)

        with CaptureQueriesContext(connection) as many:
            assert len(rows(sheet(client.get(url)))) == 9

        assert len(many) == len(few)
