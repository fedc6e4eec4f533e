"""The order list and the archive deadlines as workbooks."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.registry.models import Customer
from refmeter.workorders import services
from refmeter.workorders.models import Step, WorkOrder
from tests import factories
from tests.exports.helpers import (
    FORMULA,
    assert_date,
    assert_text_not_formula,
    column,
    file_name,
    header,
    no_formulas,
    rows,
    sheet,
)

START = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shaoxing


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


def _orders(city, count: int, *, north: bool = False, first: int = 0) -> list[WorkOrder]:
    """New installs accepted one a day from 1 March, for customers 客户0, 客户1, ..."""
    unit, admin = (city.north, city.north_admin) if north else (city.south, city.south_admin)
    device = factories.device_type(actor=admin)
    orders = []
    for index in range(first, first + count):
        customer = factories.customer(actor=admin, unit=unit, name=f"客户{index}")
        orders.append(
            services.order_new_install_start(
                actor=admin,
                customer_id=customer.pk,
                device_type_id=device.pk,
                application=services.Application(),
                now=START + dt.timedelta(days=index),
            )
        )
    return orders


def _export(client, **query):
    return client.get(reverse("workorders:list_export"), {"view": "open", **query})


class TestOrderListExport:
    def test_the_workbook_holds_every_page_of_the_tab_newest_first(self, client, city):
        orders = _orders(city, 55)
        client.force_login(city.south_admin)

        ws = sheet(_export(client))

        assert header(ws) == ["工单号", "业务类型", "当前环节", "客户", "基准户号", "点位数",
                              "受理时间", "归档期限"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert column(ws, "工单号") == [order.number for order in reversed(orders)]
        assert_date(ws, 1, "受理时间")
        assert column(ws, "受理时间")[-1] == dt.datetime(2026, 3, 1, 10, 0)

    def test_the_filters_and_the_sort_of_the_page_are_kept(self, client, city):
        _orders(city, 12)
        client.force_login(city.south_admin)

        ws = sheet(_export(client, text="客户1", sort="customer"))

        assert column(ws, "客户") == ["客户1", "客户10", "客户11"]

    def test_another_units_orders_are_absent(self, client, city):
        south = _orders(city, 2)
        _orders(city, 2, north=True, first=2)
        client.force_login(city.south_admin)

        ws = sheet(_export(client))

        assert sorted(column(ws, "工单号")) == sorted(order.number for order in south)

    def test_a_formula_in_a_customers_name_stays_text(self, client, city):
        [order] = _orders(city, 1)
        Customer.objects.filter(pk=order.customer_id).update(name=FORMULA)
        client.force_login(city.south_admin)

        response = _export(client)

        assert_text_not_formula(sheet(response), 1, "客户")
        assert no_formulas(response)

    def test_the_file_says_which_tab_unit_and_day(self, client, city):
        _orders(city, 1)
        client.force_login(city.south_admin)

        response = _export(client)

        assert file_name(response) == "工单_全部在途_单位3350101_2026-11-02.xlsx"

    def test_an_inverted_date_range_is_refused_as_on_the_page(self, client, city):
        _orders(city, 1)
        client.force_login(city.south_admin)

        response = _export(client, created_from="2026-03-10", created_to="2026-03-01")

        assert response.status_code == 400
        assert "受理日期从（2026-03-10）晚于受理日期至（2026-03-01）" in response.content.decode()

    def test_someone_not_logged_in_gets_no_workbook(self, client, city):
        _orders(city, 1)

        response = _export(client)

        assert response.status_code == 302
        assert "/login" in response["Location"]

    def test_the_same_queries_for_3_or_9_orders(self, client, city):
        _orders(city, 3)
        client.force_login(city.south_admin)
        with CaptureQueriesContext(connection) as few:
            assert len(rows(sheet(_export(client)))) == 3
        _orders(city, 6, first=3)

        with CaptureQueriesContext(connection) as many:
            assert len(rows(sheet(_export(client)))) == 9

        assert len(many) == len(few)


class TestArchiveDeadlinesExport:
    def test_overdue_orders_are_listed_with_their_deadline_as_a_date(self, client, city):
        overdue, soon, _open = _orders(city, 3)
        WorkOrder.objects.filter(pk=overdue.pk).update(
            step=Step.ARCHIVE, archive_due_date=dt.date(2026, 10, 15)
        )
        WorkOrder.objects.filter(pk=soon.pk).update(
            step=Step.ARCHIVE, archive_due_date=dt.date(2026, 11, 3)
        )
        _orders(city, 1, north=True, first=3)
        WorkOrder.objects.filter(unit=city.north).update(
            step=Step.ARCHIVE, archive_due_date=dt.date(2026, 10, 15)
        )
        client.force_login(city.south_admin)

        response = client.get(reverse("workorders:deadlines_export"))

        ws = sheet(response)
        assert header(ws) == ["类别", "工单号", "业务类型", "客户", "基准户号", "受理时间",
                              "归档期限"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert [(row[0], row[1]) for row in rows(ws)] == [
            ("已超期", overdue.number), ("2 个工作日内到期", soon.number),
        ]  # fmt: skip
        assert_date(ws, 1, "归档期限")
        assert column(ws, "归档期限")[0] == dt.datetime(2026, 10, 15)
        assert file_name(response) == "归档期限_单位3350101_2026-11-02.xlsx"
