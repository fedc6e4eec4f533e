"""Line-loss figures against hand-computed examples."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from refmeter.common.periods import Period
from refmeter.lineloss.models import AreaEnergy
from refmeter.lineloss.selectors import area_virtual_energy, lineloss_report
from refmeter.lineloss.services import UnableToLoadAreaEnergy, area_energy_load
from refmeter.registry.models import PointKind, PointPlacement
from refmeter.registry.services import point_update
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
JUNE = Period.month(2026, 6)


@pytest.fixture
def moved(city):
    """3 points in area 0001 from 1 January; one moves to area 0002 on 16 June.
    The reference meter records 90 kWh in June: 3 kWh a point a day."""
    group = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    factories.readings(group, dt.date(2026, 6, 1), [Decimal(1000) + 3 * d for d in range(31)])
    mover = group.points.filter(kind=PointKind.SUB).order_by("account_number").last()
    point_update(
        actor=city.south_admin, point_id=mover.pk, now=NOW, reason="迁移",
        access_point_number=city.south_other_place.number, effective_date=dt.date(2026, 6, 16),
    )  # fmt: skip
    return group, mover


class TestVirtualEnergy:
    def test_a_point_moved_mid_month_counts_in_each_area_for_its_own_days(self, city, moved):
        virtual = area_virtual_energy(period=JUNE)

        # area 0001: 30 + 30 + 15 point-days x 3 kWh = 225.00; area 0002: 15 x 3 = 45.00
        assert (virtual[city.south_area.pk].point_days, virtual[city.south_area.pk].energy) == (
            75,
            Decimal("225.00"),
        )
        assert (virtual[city.south_other_area.pk].point_days,
                virtual[city.south_other_area.pk].energy) == (15, Decimal("45.00"))  # fmt: skip
        _group, mover = moved
        assert list(
            PointPlacement.objects.filter(point=mover).values_list("from_date", "to_date")
        ) == [
            (dt.date(2026, 1, 1), dt.date(2026, 6, 16)),
            (dt.date(2026, 6, 16), None),
        ]


class TestReport:
    def test_loss_before_and_after_with_classes_and_moves(self, city, moved):
        area_energy_load(
            actor=city.south_admin, period_start=JUNE.start_date, now=NOW,
            rows=[["台区编号", "供电量", "售电量"], [city.south_area.number, 1000, 600],
                  [city.south_other_area.number, "500", "470"]],
        )  # fmt: skip

        report = {row.area_number: row for row in lineloss_report(period=JUNE)}

        first, second = report[city.south_area.number], report[city.south_other_area.number]
        # 0001: (1000 - 600) / 1000 = 40.00 %, after (1000 - 825) / 1000 = 17.50 %
        assert (first.loss_before, first.loss_after) == (Decimal("40.00"), Decimal("17.50"))
        assert (first.class_before, first.class_after, first.band_after) == (
            "high",
            "high",
            "15_20",
        )
        # 0002: (500 - 470) / 500 = 6.00 % qualified; after (500 - 515) / 500 = -3.00 % negative
        assert (second.loss_before, second.loss_after) == (Decimal("6.00"), Decimal("-3.00"))
        assert (second.class_after, second.moved) == ("negative", "out_of_qualified")

    def test_an_area_without_supply_figures_is_not_computable(self, city, moved):
        report = {row.area_number: row for row in lineloss_report(period=JUNE)}

        assert report[city.south_area.number].class_after == "not_computable"

    def test_the_command_reports_json(self, city, moved):
        output = io.StringIO()

        call_command("lineloss", "--period", "2026-06", "--format", "json", stdout=output)

        areas = {row["area_number"]: row for row in json.loads(output.getvalue())["areas"]}
        assert areas[city.south_other_area.number]["virtual_kwh"] == "45.00"


class TestLoadingFigures:
    def test_bad_rows_are_all_reported_and_nothing_is_written(self, city):
        with pytest.raises(UnableToLoadAreaEnergy) as refusal:
            area_energy_load(
                actor=city.south_admin, period_start=JUNE.start_date, now=NOW,
                rows=[["台区编号", "供电量", "售电量"], ["9999999999", 1, 1],
                      [city.south_area.number, "abc", 1], [city.north_area.number, 1, 1]],
            )  # fmt: skip

        assert refusal.value.problems == [
            "第 2 行 A 列（台区编号）：台区 9999999999 不存在或不属于您的单位。",
            "第 3 行 B 列（供电量）：“abc”不是数字。",
            f"第 4 行 A 列（台区编号）：台区 {city.north_area.number} 不存在或不属于您的单位。",
        ]
        assert AreaEnergy.objects.count() == 0


class TestPages:
    def test_the_report_page_exports_and_loads_figures(self, client, city, moved):
        import openpyxl
        from django.urls import reverse

        client.force_login(city.south_admin)
        book = openpyxl.Workbook()
        book.active.append(["台区编号", "供电量", "售电量"])
        book.active.append([city.south_other_area.number, 500, 470])
        buffer = io.BytesIO()
        book.save(buffer)
        buffer.seek(0)
        buffer.name = "figures.xlsx"

        client.post(
            reverse("lineloss:report") + "?period=2026-06", {"file": buffer, "period": "2026-06"}
        )
        page = client.get(reverse("lineloss:report"), {"period": "2026-06"}).content.decode()
        export = client.get(reverse("lineloss:export", args=["csv"]), {"period": "2026-06"})
        chart = client.get(
            reverse("lineloss:area", args=[city.south_other_area.pk]), {"period": "2026-06"}
        )

        assert "由合格转为不合格 1 个" in page
        lines = export.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("台区编号,台区名称,点·天,虚拟电量")
        assert (
            f"{city.south_other_area.number},测试0002#配,15,45.00,500.00,470.00,6.00,-3.00,合格,负损"
            in lines
        )
        assert '"month": "2026-06", "before": 6.0, "after": -3.0' in chart.content.decode()


class TestApi:
    def test_the_line_loss_system_reads_each_areas_virtual_energy(self, client, city, moved):
        from refmeter.organisations.services import api_token_create

        key = api_token_create(user=city.south_clerk, name="线损系统", now=NOW)

        areas = client.get(
            "/api/v1/lineloss", {"period": "2026-06"}, headers={"Authorization": f"Bearer {key}"}
        ).json()

        assert {(area["area_number"], area["virtual"], area["point_days"]) for area in areas} == {
            (city.south_area.number, "225.00", 75),
            (city.south_other_area.number, "45.00", 15),
        }
