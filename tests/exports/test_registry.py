"""The registry's lists as workbooks: group search, a group's history, point statistics."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.registry.models import Customer
from refmeter.registry.services import group_update
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

NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _groups(city, count: int, *, north: bool = False, first: int = 0, sub_accounts: int = 0):
    unit, admin, place = (
        (city.north, city.north_admin, city.north_place)
        if north
        else (city.south, city.south_admin, city.south_place)
    )
    return [
        factories.group(
            actor=admin,
            unit=unit,
            place=place,
            sub_accounts=sub_accounts,
            active_from=dt.date(2026, 1, 1) + dt.timedelta(days=index),
            customer_record=factories.customer(actor=admin, unit=unit, name=f"客户{index:02d}"),
        )
        for index in range(first, first + count)
    ]


class TestGroupSearchExport:
    def test_every_page_of_the_groups_found_in_the_pages_order(self, client, city):
        groups = _groups(city, 55)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_search_export"))

        ws = sheet(response)
        assert header(ws) == ["供电单位", "客户", "基准户号", "基准户名", "设备地址", "设备类型",
                              "电能表资产编号", "立户日期", "状态", "在用点数"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert column(ws, "电能表资产编号") == [group.meter_asset_number for group in groups]
        assert_date(ws, 1, "立户日期")
        assert column(ws, "立户日期")[0] == dt.datetime(2026, 1, 1)
        assert file_name(response) == "基准户查询_单位3350101_2026-11-02.xlsx"

    def test_the_filters_and_the_sort_are_kept_and_other_units_are_absent(self, client, city):
        _groups(city, 12)
        _groups(city, 3, north=True, first=10)
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_search_export"), {"customer": "客户1", "sort": "-created"}
        )

        assert column(sheet(response), "客户") == ["客户11", "客户10"]

    def test_a_formula_in_a_customers_name_stays_text(self, client, city):
        [group] = _groups(city, 1)
        Customer.objects.filter(pk=group.customer_id).update(name=FORMULA)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_search_export"))

        assert_text_not_formula(sheet(response), 1, "客户")
        assert no_formulas(response)

    def test_an_inverted_date_range_is_refused_as_on_the_page(self, client, city):
        _groups(city, 1)
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_search_export"),
            {"created_from": "2026-03-10", "created_to": "2026-03-01"},
        )

        assert response.status_code == 400
        assert "立户日期从（2026-03-10）晚于立户日期至（2026-03-01）" in response.content.decode()

    def test_the_same_queries_for_3_or_9_groups(self, client, city):
        _groups(city, 3)
        client.force_login(city.south_clerk)
        url = reverse("registry:group_search_export")
        with CaptureQueriesContext(connection) as few:
            assert len(rows(sheet(client.get(url)))) == 3
        _groups(city, 6, first=3)

        with CaptureQueriesContext(connection) as many:
            assert len(rows(sheet(client.get(url)))) == 9

        assert len(many) == len(few)


class TestGroupHistoryExport:
    def test_every_change_newest_first_with_its_time_as_a_date(self, client, city):
        [group] = _groups(city, 1, sub_accounts=29)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_history_export", args=[group.pk]))

        ws = sheet(response)
        assert header(ws) == ["时间", "操作人", "对象", "操作", "内容", "原因", "工单"]
        assert ws.freeze_panes == "A2"
        entries = AuditEntry.objects.filter(parent_type="group", parent_id=group.pk).count() + (
            AuditEntry.objects.filter(subject_type="group", subject_id=group.pk).count()
        )
        assert len(rows(ws)) == entries > 10  # more than the page's ten
        assert_date(ws, 1, "时间")
        assert "立户" in column(ws, "操作")
        base = group.points.get(kind="base").account_number
        assert file_name(response) == f"群组变更记录_{base}_2026-11-02.xlsx"

    def test_the_action_filter_is_kept_and_a_formula_in_a_reason_stays_text(self, client, city):
        [group] = _groups(city, 1, sub_accounts=2)
        group_update(
            actor=city.south_admin, group_id=group.pk, now=NOW, reason=FORMULA,
            terms_from_date=dt.date(2026, 10, 1), ct_ratio=40,
        )  # fmt: skip
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_history_export", args=[group.pk]),
            {"history_action": "group.update"},
        )

        ws = sheet(response)
        assert column(ws, "操作") == ["修改群组信息"]
        assert_text_not_formula(ws, 1, "原因")
        assert "→ 40" in column(ws, "内容")[0]
        assert no_formulas(response)

    def test_another_units_group_is_not_found(self, client, city):
        [group] = _groups(city, 1, north=True)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_history_export", args=[group.pk]))

        assert response.status_code == 404

    def test_an_inverted_date_range_is_refused_as_on_the_page(self, client, city):
        [group] = _groups(city, 1)
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_history_export", args=[group.pk]),
            {"history_from": "2026-03-10", "history_to": "2026-03-01"},
        )

        assert response.status_code == 400
        assert "变更日期从（2026-03-10）晚于变更日期至（2026-03-01）" in response.content.decode()

    def test_the_same_queries_for_a_group_of_3_or_30_points(self, client, city):
        small, big = _groups(city, 1, sub_accounts=2) + _groups(city, 1, first=1, sub_accounts=29)
        client.force_login(city.south_clerk)

        with CaptureQueriesContext(connection) as few:
            client.get(reverse("registry:group_history_export", args=[small.pk]))
        with CaptureQueriesContext(connection) as many:
            client.get(reverse("registry:group_history_export", args=[big.pk]))

        assert len(many) == len(few)


class TestStatisticsExport:
    def test_three_sheets_by_customer_device_type_and_area(self, client, city):
        _groups(city, 2, sub_accounts=2)
        _groups(city, 1, north=True, first=5, sub_accounts=4)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:statistics_export"))

        customers, devices, areas = (sheet(response, index) for index in range(3))
        assert header(customers) == ["序号", "客户", "在用点数"]
        assert rows(customers) == [(1, "客户00", 3), (2, "客户01", 3), (None, "合计", 6)]
        assert header(devices) == ["设备类型", "在用点数"]
        assert sum(row[1] for row in rows(devices)) == 6
        assert rows(areas) == [(city.south_area.number, city.south_area.name, 6)]
        assert all(ws.freeze_panes == "A2" for ws in (customers, devices, areas))
        assert file_name(response) == "点位统计_单位3350101_2026-11-02.xlsx"

    def test_a_formula_in_a_customers_name_stays_text(self, client, city):
        [group] = _groups(city, 1)
        Customer.objects.filter(pk=group.customer_id).update(name=FORMULA)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:statistics_export"))

        assert_text_not_formula(sheet(response), 1, "客户")
        assert no_formulas(response)

    def test_someone_not_logged_in_gets_no_workbook(self, client, city):
        response = client.get(reverse("registry:statistics_export"))

        assert response.status_code == 302
