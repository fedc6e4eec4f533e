"""The dashboard's twelve-month trends against a hand-built year, one query a series."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase, CaseStatus
from refmeter.dashboard.trends import dashboard_trends, trend_months
from refmeter.organisations.models import Role
from refmeter.registry.models import Point, PointKind
from refmeter.workorders import services as orders
from refmeter.workorders.models import Step, WorkOrder
from tests import factories

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def year(city):
    """A group of 4 points from March; one cancelled in August; two anomaly cases; two
    orders archived in October, one late."""
    group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                            sub_accounts=3, active_from=dt.date(2026, 3, 10))  # fmt: skip
    sub = group.points.filter(kind=PointKind.SUB).order_by("account_number").first()
    Point.objects.filter(pk=sub.pk).update(active_to_date=dt.date(2026, 8, 5), status="cancelled")
    factories.group(actor=city.north_admin, unit=city.north, place=city.north_place,
                    sub_accounts=5, active_from=dt.date(2026, 3, 1))  # fmt: skip
    for raised, closed in (
        (dt.date(2026, 9, 1), dt.date(2026, 10, 15)),
        (dt.date(2026, 10, 2), None),
    ):
        AnomalyCase.objects.create(
            group=group, meter_asset_number="M1", kind="stopped", condition_since=raised,
            raised_on=raised, last_seen_on=raised,
            status=CaseStatus.CLOSED if closed else CaseStatus.OPEN,
            closed_at=at(closed) if closed else None,
        )  # fmt: skip
    customer = factories.customer(actor=city.south_admin, unit=city.south)
    device = factories.device_type(actor=city.south_admin)
    for due, done in ((dt.date(2026, 10, 20), dt.date(2026, 10, 18)),
                      (dt.date(2026, 10, 9), dt.date(2026, 10, 12))):  # fmt: skip
        order = orders.order_new_install_start(
            actor=city.south_admin, customer_id=customer.pk, device_type_id=device.pk,
            application=orders.Application(), now=NOW,
        )  # fmt: skip
        WorkOrder.objects.filter(pk=order.pk).update(
            step=Step.DONE, archive_due_date=due, completed_at=at(done)
        )
    return group


def values(trends, key):
    trend = next(trend for trend in trends.trends if trend.key == key)
    return {series.label: series.values for series in trend.series}


class TestTrends:
    def test_the_twelve_months_end_with_this_one(self):
        months = trend_months(TODAY)

        assert [f"{m.start_date:%Y-%m}" for m in (months[0], months[-1])] == ["2025-12", "2026-11"]
        assert len(months) == 12

    def test_each_series_against_the_hand_built_year(self, city, year):
        manager = factories.user(unit=city.south, role=Role.MANAGER)

        trends = dashboard_trends(user=manager, today=TODAY)

        assert trends.months[-3:] == ["2026-09", "2026-10", "2026-11"]
        points = values(trends, "points")[year.customer.name]
        # Dec…Feb none, March–July 4, from August 3 (month ends)
        assert points == [0.0] * 3 + [4.0] * 5 + [3.0] * 4
        moves = values(trends, "moves")
        assert moves["新增"] == [0.0] * 3 + [4.0] + [0.0] * 8
        assert moves["撤销"] == [0.0] * 8 + [1.0] + [0.0] * 3
        cases = values(trends, "cases")
        assert cases["报出"][-3:] == [1.0, 1.0, 0.0]
        assert cases["办结"][-3:] == [0.0, 1.0, 0.0]
        # end of September: one case 29 days old; end of October: the open one, 29 days;
        # 20 November: 49 days
        assert cases["在办天数中位数"][-3:] == [29.0, 29.0, 49.0]
        archives = values(trends, "archives")
        assert (archives["按期"][-2], archives["超期"][-2]) == (1.0, 1.0)

    def test_another_units_points_are_not_counted(self, city, year):
        manager = factories.user(unit=city.south, role=Role.MANAGER)

        trends = dashboard_trends(user=manager, today=TODAY)

        assert sum(series.values[-1] for series in next(
            t for t in trends.trends if t.key == "points").series) == 3.0  # fmt: skip

    def test_a_company_manager_chooses_a_service_area(self, city, year):
        company = factories.user(unit=city.company, role=Role.MANAGER)

        trends = dashboard_trends(user=company, today=TODAY, unit_id=city.north.pk)

        assert trends.unit == city.north
        assert (
            sum(s.values[-1] for s in next(t for t in trends.trends if t.key == "points").series)
            == 6.0
        )

    def test_a_unit_out_of_sight_falls_back_to_the_users_own(self, city, year):
        manager = factories.user(unit=city.south, role=Role.MANAGER)

        trends = dashboard_trends(user=manager, today=TODAY, unit_id=city.north.pk)

        assert trends.unit == city.south

    def test_the_queries_do_not_grow_with_the_data(self, city, year):
        manager = factories.user(unit=city.south, role=Role.MANAGER)
        with CaptureQueriesContext(connection) as few:
            dashboard_trends(user=manager, today=TODAY)
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                        sub_accounts=30, active_from=dt.date(2026, 5, 1))  # fmt: skip

        with CaptureQueriesContext(connection) as many:
            dashboard_trends(user=manager, today=TODAY)

        assert len(many.captured_queries) == len(few.captured_queries)


class TestTheDashboardPage:
    def test_it_carries_the_charts_data_and_the_tables(self, client, city, year):
        client.force_login(factories.user(unit=city.south, role=Role.MANAGER))

        page = client.get(reverse("dashboard")).content.decode()

        assert '<script id="trends-data" type="application/json">' in page
        assert 'data-testid="trend-points"' in page and 'data-testid="trend-archives"' in page
        assert "vendor/uplot/uPlot.iife.min.js" in page
