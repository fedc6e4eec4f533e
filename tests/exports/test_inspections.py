"""The inspection plans and a plan's points as workbooks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.inspections.models import InspectionTarget
from refmeter.inspections.services import inspection_plan_create, inspection_result_record
from refmeter.organisations.models import Role, SupplyUnit
from refmeter.registry.models import Point
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

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _plan(city, points: int, *, north: bool = False):
    """A plan over every point of one group of ``points`` points."""
    unit, admin = (city.north, city.north_admin) if north else (city.south, city.south_admin)
    factories.group(
        actor=admin, unit=unit, place=city.north_place if north else city.south_place,
        sub_accounts=points - 1, active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    field = factories.user(unit=unit, role=Role.FIELD_STAFF)
    plan = inspection_plan_create(
        actor=field, unit=unit, period_start=dt.date(2026, 7, 1), now=NOW, seed=7,
        fraction=Decimal(1),
    )  # fmt: skip
    return plan, field


def _accounts(plan) -> list[str]:
    return sorted(
        Point.objects.filter(group__unit=plan.unit).values_list("account_number", flat=True)
    )


class TestPlansExport:
    def test_every_plan_of_the_users_units_with_its_progress(self, client, city):
        plan, _field = _plan(city, 3)
        _plan(city, 2, north=True)
        client.force_login(city.south_clerk)

        response = client.get(reverse("inspections:plans_export"))

        ws = sheet(response)
        assert header(ws) == ["检查期开始", "检查期结束", "供电单位", "抽查点数", "已检查",
                              "待检查", "发现问题", "逾期", "随机种子"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert rows(ws) == [
            (dt.datetime(2026, 7, 1), dt.datetime.combine(plan.period_end, dt.time()),
             "单位3350101", 3, 0, 3, 0, None, 7),
        ]  # fmt: skip
        assert_date(ws, 1, "检查期开始")
        assert file_name(response) == "周期检查计划_单位3350101_2026-07-02.xlsx"

    def test_a_formula_in_a_units_name_stays_text(self, client, city):
        _plan(city, 1)
        SupplyUnit.objects.filter(pk=city.south.pk).update(name=FORMULA)
        client.force_login(city.south_clerk)

        response = client.get(reverse("inspections:plans_export"))

        assert_text_not_formula(sheet(response), 1, "供电单位")
        assert no_formulas(response)


class TestPlanPointsExport:
    def test_every_page_of_the_plans_points_in_the_pages_order(self, client, city):
        plan, _field = _plan(city, 55)
        client.force_login(city.south_clerk)

        response = client.get(reverse("inspections:plan_export", args=[plan.pk]))

        ws = sheet(response)
        assert header(ws) == ["户号", "户名", "设备地址", "客户", "台区编号", "检查状态",
                              "检查结果", "检查时间", "说明"]  # fmt: skip
        assert ws.freeze_panes == "A2"
        assert column(ws, "户号") == _accounts(plan)
        assert file_name(response) == f"检查计划点位_单位3350101_2026-07-01_{plan.pk}.xlsx"

    def test_the_filters_are_kept_and_a_finding_has_its_time_as_a_date(self, client, city):
        plan, field = _plan(city, 4)
        checked = _accounts(plan)[1]
        inspection_result_record(
            actor=field, point_id=Point.objects.get(account_number=checked).pk,
            finding="seal_missing", note=FORMULA, now=NOW,
        )  # fmt: skip
        client.force_login(city.south_clerk)

        response = client.get(reverse("inspections:plan_export", args=[plan.pk]), {"state": "done"})

        ws = sheet(response)
        assert column(ws, "户号") == [checked]
        assert column(ws, "检查状态") == ["已检查"]
        assert_date(ws, 1, "检查时间")
        assert column(ws, "检查时间") == [dt.datetime(2026, 7, 2, 10, 0)]
        assert_text_not_formula(ws, 1, "说明")
        assert no_formulas(response)

    def test_another_units_plan_is_not_found(self, client, city):
        plan, _field = _plan(city, 2, north=True)
        client.force_login(city.south_clerk)

        response = client.get(reverse("inspections:plan_export", args=[plan.pk]))

        assert response.status_code == 404

    def test_a_finding_that_does_not_exist_is_refused(self, client, city):
        plan, _field = _plan(city, 2)
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("inspections:plan_export", args=[plan.pk]), {"finding": "bogus"}
        )

        assert response.status_code == 400
        assert "检查结果" in response.content.decode()

    def test_the_same_queries_for_a_plan_of_3_or_30_points(self, client, city):
        plan, _field = _plan(city, 3)
        client.force_login(city.south_clerk)
        url = reverse("inspections:plan_export", args=[plan.pk])
        with CaptureQueriesContext(connection) as few:
            assert len(rows(sheet(client.get(url)))) == 3
        more = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=26,
            active_from=dt.date(2026, 1, 1),
        )  # fmt: skip
        InspectionTarget.objects.bulk_create(
            InspectionTarget(
                plan=plan,
                point=point,
                customer_id=more.customer_id,
                group_id=more.pk,
                area_id=point.area_id,
            )
            for point in Point.objects.filter(group=more)
        )

        with CaptureQueriesContext(connection) as many:
            assert len(rows(sheet(client.get(url)))) == 30

        assert len(many) == len(few)
