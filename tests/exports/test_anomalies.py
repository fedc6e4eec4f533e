"""The anomaly case list as a workbook."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase, AnomalyKind, CaseStatus
from refmeter.registry.models import Customer
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

KINDS = [AnomalyKind.STOPPED, AnomalyKind.REVERSE, AnomalyKind.ZERO]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


def _meter(city, *, north: bool = False):
    unit, admin, place = (
        (city.north, city.north_admin, city.north_place)
        if north
        else (city.south, city.south_admin, city.south_place)
    )
    return factories.group(
        actor=admin, unit=unit, place=place, sub_accounts=1, active_from=dt.date(2026, 1, 1)
    )


def _cases(group, count: int, *, first: int = 0) -> list[AnomalyCase]:
    """Open cases raised one a day from 1 March, kinds in turn."""
    return AnomalyCase.objects.bulk_create(
        AnomalyCase(
            group=group,
            meter_asset_number=group.meter_asset_number,
            kind=KINDS[index % 3],
            account_number=f"17029{index:05d}",
            status=CaseStatus.OPEN,
            condition_since=dt.date(2026, 2, 1),
            raised_on=dt.date(2026, 3, 1) + dt.timedelta(days=index),
            last_seen_on=dt.date(2026, 3, 1) + dt.timedelta(days=index),
        )
        for index in range(first, first + count)
    )


def _export(client, **query):
    return client.get(reverse("anomalies:list_export"), query)


class TestCaseListExport:
    def test_every_page_of_the_tab_with_dates_as_dates(self, client, city):
        _cases(_meter(city), 55)
        client.force_login(city.south_clerk)

        ws = sheet(_export(client))

        assert header(ws) == ["报出日期", "已过天数", "异常类型", "状态", "基准户号", "客户",
                              "电能表资产编号", "异常起始日", "联系单", "联系单回复", "原因"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert len(rows(ws)) == 55
        assert column(ws, "报出日期")[:2] == [dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 2)]
        assert_date(ws, 1, "报出日期")
        assert_date(ws, 1, "异常起始日")
        assert column(ws, "已过天数")[0] == (dt.date(2026, 11, 2) - dt.date(2026, 3, 1)).days

    def test_the_filters_and_the_sort_of_the_page_are_kept(self, client, city):
        _cases(_meter(city), 9)
        client.force_login(city.south_clerk)

        ws = sheet(_export(client, kind=AnomalyKind.REVERSE, sort="-raised"))

        assert column(ws, "报出日期") == [
            dt.datetime(2026, 3, 8), dt.datetime(2026, 3, 5), dt.datetime(2026, 3, 2)
        ]  # fmt: skip

    def test_another_units_cases_are_absent(self, client, city):
        south = _meter(city)
        _cases(south, 2)
        _cases(_meter(city, north=True), 3, first=2)
        client.force_login(city.south_clerk)

        ws = sheet(_export(client))

        assert column(ws, "电能表资产编号") == [south.meter_asset_number] * 2

    def test_a_formula_in_a_customers_name_stays_text(self, client, city):
        meter = _meter(city)
        _cases(meter, 1)
        Customer.objects.filter(pk=meter.customer_id).update(name=FORMULA)
        client.force_login(city.south_clerk)

        response = _export(client)

        assert_text_not_formula(sheet(response), 1, "客户")
        assert no_formulas(response)

    def test_the_file_says_which_tab_unit_and_day(self, client, city):
        _cases(_meter(city), 1)
        client.force_login(city.south_clerk)

        response = _export(client)

        assert file_name(response) == "计量异常_处理中_单位3350101_2026-11-02.xlsx"

    def test_an_inverted_date_range_is_refused_as_on_the_page(self, client, city):
        _cases(_meter(city), 1)
        client.force_login(city.south_clerk)

        response = _export(client, raised_from="2026-03-10", raised_to="2026-03-01")

        assert response.status_code == 400
        assert "报出日期从（2026-03-10）晚于报出日期至（2026-03-01）" in response.content.decode()

    def test_the_same_queries_for_3_or_9_cases(self, client, city):
        meter = _meter(city)
        _cases(meter, 3)
        client.force_login(city.south_clerk)
        with CaptureQueriesContext(connection) as few:
            assert len(rows(sheet(_export(client)))) == 3
        _cases(meter, 6, first=3)

        with CaptureQueriesContext(connection) as many:
            assert len(rows(sheet(_export(client)))) == 9

        assert len(many) == len(few)
