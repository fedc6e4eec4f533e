"""The order list: tabs, search, filters, sorting and paging from the URL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.workorders import services
from refmeter.workorders.models import OrderKind, Step, WorkOrder
from tests import factories

START = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shaoxing


def _orders(city, count: int, *, first: int = 0) -> list[WorkOrder]:
    """New installs accepted one a day from 1 March, for customers 客户0, 客户1, ..."""
    admin = city.south_admin
    device = factories.device_type(actor=admin)
    orders = []
    for index in range(first, first + count):
        customer = factories.customer(actor=admin, unit=city.south, name=f"客户{index}")
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


def _numbers(response) -> list[str]:
    return [row.number for row in response.context["rows"]]


def _newest_first(orders) -> list[str]:
    return [order.number for order in reversed(orders)]


@pytest.fixture
def admin(client, city):
    client.force_login(city.south_admin)
    return client


class TestPaging:
    def test_page_two_holds_the_rest_and_the_total_is_shown(self, admin, city):
        orders = _orders(city, 60)

        first = admin.get(reverse("workorders:list"), {"view": "open"})
        second = admin.get(reverse("workorders:list"), {"view": "open", "page": "2"})

        assert _numbers(first) == _newest_first(orders)[:50]
        assert _numbers(second) == _newest_first(orders)[50:]
        assert "共 60 条，显示第 1–50 条" in first.content.decode()

    def test_the_same_queries_for_3_or_60_orders(self, admin, city):
        _orders(city, 3)
        admin.get(reverse("workorders:list"), {"view": "open"})
        with CaptureQueriesContext(connection) as few:
            admin.get(reverse("workorders:list"), {"view": "open"})
        _orders(city, 57, first=3)

        with CaptureQueriesContext(connection) as many:
            response = admin.get(reverse("workorders:list"), {"view": "open"})

        assert response.context["listing"].total == 60
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_the_current_tab_is_highlighted(self, admin, city):
        html = admin.get(reverse("workorders:list"), {"view": "done"}).content.decode()

        assert '<a class="button" href="?view=done" aria-current="page">已办结</a>' in html
        assert '<a class="button secondary" href="?view=open">全部在途</a>' in html


class TestSearching:
    def test_by_order_number(self, admin, city):
        orders = _orders(city, 5)

        response = admin.get(reverse("workorders:list"), {"view": "open", "text": orders[2].number})

        assert _numbers(response) == [orders[2].number]

    def test_by_customer_name(self, admin, city):
        orders = _orders(city, 12)

        response = admin.get(reverse("workorders:list"), {"view": "open", "text": "客户1"})

        assert _numbers(response) == [orders[11].number, orders[10].number, orders[1].number]

    def test_by_the_base_account_number_of_the_group(self, admin, city):
        _orders(city, 2)
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        change = services.order_group_start(
            actor=city.south_admin, group_id=group.pk, kind=OrderKind.CHANGE,
            application=services.Application(), now=START,
        )  # fmt: skip
        base = group.points.get(kind="base").account_number

        response = admin.get(reverse("workorders:list"), {"view": "open", "text": base})

        assert _numbers(response) == [change.number]


class TestFilteringAndSorting:
    def test_by_kind_step_and_acceptance_dates(self, admin, city):
        orders = _orders(city, 10)

        response = admin.get(
            reverse("workorders:list"),
            {"view": "open", "kind": "new_install", "step": Step.ACCEPTANCE,
             "created_from": "2026-03-03", "created_to": "2026-03-05"},
        )  # fmt: skip

        assert _numbers(response) == [orders[4].number, orders[3].number, orders[2].number]

    def test_by_unit(self, client, city):
        south = _orders(city, 2)
        device = factories.device_type(actor=city.north_admin)
        customer = factories.customer(actor=city.north_admin, unit=city.north, name="北区客户")
        services.order_new_install_start(
            actor=city.north_admin, customer_id=customer.pk, device_type_id=device.pk,
            application=services.Application(), now=START,
        )  # fmt: skip
        client.force_login(city.admin)

        response = client.get(
            reverse("workorders:list"), {"view": "open", "unit": str(city.south.pk)}
        )

        assert _numbers(response) == _newest_first(south)

    def test_a_unit_outside_the_users_is_refused_with_a_message(self, admin, city):
        _orders(city, 2)

        response = admin.get(
            reverse("workorders:list"), {"view": "open", "unit": str(city.north.pk)}
        )

        assert response.status_code == 200
        assert _numbers(response) == []
        assert "供电单位：选择一个有效的选项" in response.content.decode()

    def test_sorted_by_customer(self, admin, city):
        orders = _orders(city, 3)

        response = admin.get(reverse("workorders:list"), {"view": "open", "sort": "-customer"})

        assert _numbers(response) == [orders[2].number, orders[1].number, orders[0].number]

    def test_an_inverted_date_range_is_an_error_not_an_empty_list(self, admin, city):
        _orders(city, 3)

        response = admin.get(
            reverse("workorders:list"),
            {"view": "open", "created_from": "2026-03-05", "created_to": "2026-03-01"},
        )

        assert "受理日期从（2026-03-05）晚于受理日期至（2026-03-01），请改正日期范围。" in (
            response.content.decode()
        )
        assert _numbers(response) == []
