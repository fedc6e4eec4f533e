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
    """A base account and 2 sub-accounts in area 0001 from 1 January; one sub-account moves
    to area 0002 on 16 June. The reference meter records 90 kWh in June: 3 kWh a point a
    day. The base account's own reading is already in area 0001's metered sales."""
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

        # area 0001: sub-accounts 30 + 15 point-days x 3 kWh = 135.00 (not the base account);
        # area 0002: 15 x 3 = 45.00
        assert (virtual[city.south_area.pk].point_days, virtual[city.south_area.pk].energy) == (
            45,
            Decimal("135.00"),
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
        # 0001: (1000 - 600) / 1000 = 40.00 %, after (1000 - 735) / 1000 = 26.50 %
        assert (first.loss_before, first.loss_after) == (Decimal("40.00"), Decimal("26.50"))
        assert (first.class_before, first.class_after, first.band_after) == (
            "high",
            "high",
            "over_20",
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

    def test_a_refused_upload_answers_400_with_each_problem_on_the_page(self, client, city):
        from django.urls import reverse

        client.force_login(city.south_admin)
        import openpyxl

        book = openpyxl.Workbook()
        for row in (
            ["台区编号", "供电量", "售电量"],
            ["9999999999", 1, 1],
            [city.south_area.number, "abc", 1],
        ):
            book.active.append(row)  # fmt: skip
        upload = io.BytesIO()
        book.save(upload)
        upload.seek(0)
        upload.name = "figures.xlsx"

        response = client.post(
            reverse("lineloss:report") + "?period=2026-06", {"file": upload, "period": "2026-06"}
        )
        page = response.content.decode()

        assert response.status_code == 400
        assert 'data-testid="upload-problems"' in page
        assert "第 2 行 A 列（台区编号）：台区 9999999999 不存在或不属于您的单位。" in page
        assert "第 3 行 B 列（供电量）：“abc”不是数字。" in page
        assert 'value="2026-06"' in page
        assert AreaEnergy.objects.count() == 0


class TestApi:
    def test_the_line_loss_system_reads_each_areas_virtual_energy(self, client, city, moved):
        from refmeter.organisations.services import api_token_create

        key = api_token_create(user=city.south_clerk, name="线损系统", now=dt.datetime.now(dt.UTC))

        areas = client.get(
            "/api/v1/lineloss", {"period": "2026-06"}, headers={"Authorization": f"Bearer {key}"}
        ).json()

        assert {(area["area_number"], area["virtual"], area["point_days"]) for area in areas} == {
            (city.south_area.number, "135.00", 45),
            (city.south_other_area.number, "45.00", 15),
        }


@pytest.fixture
def split(city):
    """The base account in area 0001, its 2 sub-accounts in area 0002, from 1 January; CT
    ratio 2. The reference meter advances 1.5 kWh a day in June: 3 kWh a point a day."""
    from refmeter.registry.services import PointInput, group_create, sub_accounts_add

    first = dt.date(2026, 1, 1)
    group = group_create(
        actor=city.south_admin, unit=city.south,
        customer=factories.customer(actor=city.south_admin, unit=city.south),
        device_type=factories.device_type(actor=city.south_admin), meter_asset_number="3310990000001",
        meter_install_date=first, created_date=first, ct_ratio=2, now=NOW,
        base=PointInput(name="基准户", device_address="1幢",
                        access_point_number=city.south_place.number, active_from_date=first),
    )  # fmt: skip
    sub_accounts_add(
        actor=city.south_admin, group_id=group.pk, now=NOW,
        points=[PointInput(name=f"虚拟子户{index}", device_address=f"{index}幢",
                           access_point_number=city.south_other_place.number,
                           active_from_date=first) for index in range(2)],
    )  # fmt: skip
    factories.readings(
        group, dt.date(2026, 6, 1), [Decimal(500) + Decimal("1.5") * d for d in range(31)]
    )
    area_energy_load(
        actor=city.south_admin, period_start=JUNE.start_date, now=NOW,
        rows=[["台区编号", "供电量", "售电量"], [city.south_area.number, 1000, 900],
              [city.south_other_area.number, 2000, 1700]],
    )  # fmt: skip
    return group


class TestEffectiveDatedCtRatio:
    def test_a_ct_ratio_change_mid_month_scales_only_the_days_after_it(self, city, split):
        factories.group_terms(split, actor=city.south_admin, from_date=dt.date(2026, 6, 16),
                              ct_ratio=4)  # fmt: skip

        virtual = area_virtual_energy(period=JUNE)

        # 1-16 June: 22.5 kWh x 2; 16 June-1 July: 22.5 kWh x 4 -> 135 kWh / 30 days = 4.5 kWh
        # a point a day; 2 sub-accounts x 30 days = 270.00 kWh
        assert virtual[city.south_other_area.pk].energy == Decimal("270.00")


class TestTheBaseAccountIsCountedOnce:
    """Area 0001's sales already hold the base account's reading: nothing is added there.
    Area 0002 gets 2 sub-accounts x 30 days x 3 kWh = 180.00 kWh."""

    def test_only_the_sub_accounts_energy_is_allocated(self, city, split):
        virtual = area_virtual_energy(period=JUNE)

        assert {area_id: (row.point_days, row.energy) for area_id, row in virtual.items()} == {
            city.south_other_area.pk: (60, Decimal("180.00"))
        }

    def test_the_report_adds_nothing_to_the_base_accounts_area(self, city, split):
        report = {row.area_number: row for row in lineloss_report(period=JUNE)}

        first, second = report[city.south_area.number], report[city.south_other_area.number]
        assert (first.virtual, first.point_days, first.loss_before, first.loss_after) == (
            Decimal("0.00"), 0, Decimal("10.00"), Decimal("10.00"),
        )  # fmt: skip
        # 0002: (2000 - 1700) / 2000 = 15.00 %; after (2000 - 1880) / 2000 = 6.00 %
        assert (second.virtual, second.loss_before, second.loss_after, second.moved) == (
            Decimal("180.00"), Decimal("15.00"), Decimal("6.00"), "into_qualified",
        )  # fmt: skip

    def test_the_command_the_api_the_export_and_the_chart_agree(self, client, city, split):
        from django.urls import reverse

        from refmeter.organisations.services import api_token_create

        key = api_token_create(user=city.south_clerk, name="线损系统", now=dt.datetime.now(dt.UTC))
        client.force_login(city.south_admin)
        output = io.StringIO()

        call_command("lineloss", "--period", "2026-06", "--format", "json", stdout=output)
        api = client.get(
            "/api/v1/lineloss", {"period": "2026-06"}, headers={"Authorization": f"Bearer {key}"}
        ).json()
        export = client.get(reverse("lineloss:export", args=["csv"]), {"period": "2026-06"})
        chart = client.get(
            reverse("lineloss:area", args=[city.south_area.pk]), {"period": "2026-06"}
        )

        command = json.loads(output.getvalue())["areas"]
        assert [(row["area_number"], row["virtual_kwh"], row["loss_after_percent"])
                for row in command] == [(city.south_area.number, "0.00", "10.00"),
                                        (city.south_other_area.number, "180.00", "6.00")]  # fmt: skip
        assert [(row["area_number"], row["virtual"], row["loss_after"]) for row in api] == [
            (city.south_area.number, "0.00", "10.00"),
            (city.south_other_area.number, "180.00", "6.00"),
        ]
        assert export.content.decode("utf-8-sig").splitlines()[1:] == [
            f"{city.south_area.number},测试0001#配,0,0.00,1000.00,900.00,10.00,10.00,合格,合格",
            f"{city.south_other_area.number},测试0002#配,60,180.00,2000.00,1700.00,15.00,6.00,"
            "高损,合格",
        ]
        assert '"month": "2026-06", "before": 10.0, "after": 10.0, "virtual": 0.0' in (
            chart.content.decode()
        )


class TestClassesOnTheExactRate:
    """Threshold 10 %: a rate is shown rounded to 0.01 %, but classed unrounded."""

    @pytest.mark.parametrize(
        ("sales", "shown", "loss_class", "band"),
        [
            ("89996.00", "10.00", "high", "10_15"),  # 10.004 %: above the threshold
            ("90000.00", "10.00", "qualified", ""),  # exactly 10 %: high loss is above it
            ("100004.00", "-0.00", "negative", ""),  # -0.004 %: below zero
            ("100000.00", "0.00", "qualified", ""),  # exactly 0 %
            ("85000.00", "15.00", "high", "10_15"),  # exactly 15 %: the lower band
            ("84996.00", "15.00", "high", "15_20"),  # 15.004 %
            ("80000.00", "20.00", "high", "15_20"),  # exactly 20 %
            ("79996.00", "20.00", "high", "over_20"),  # 20.004 %
        ],
    )
    def test_the_class_and_band_follow_the_unrounded_rate(
        self, city, settings, sales, shown, loss_class, band
    ):
        settings.REFMETER_HIGH_LOSS_PERCENT = 10.0
        area_energy_load(
            actor=city.south_admin, period_start=JUNE.start_date, now=NOW,
            rows=[["台区编号", "供电量", "售电量"], [city.south_area.number, "100000", sales]],
        )  # fmt: skip

        (row,) = lineloss_report(period=JUNE)

        assert (str(row.loss_before), row.class_before) == (shown, loss_class)
        assert (str(row.loss_after), row.class_after, row.band_after) == (shown, loss_class, band)
