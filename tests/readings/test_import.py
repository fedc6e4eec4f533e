from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from refmeter.readings.models import MeterReading, MeterReadingRevision
from refmeter.readings.services import UnableToImportReadings, readings_import, rows_from_file
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def meters(city):
    south = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
    north = factories.group(actor=city.north_admin, unit=city.north, place=city.north_place)
    return south, north


def csv_rows(text: str):
    return rows_from_file(text.encode("utf-8"), "readings.csv")


def run(actor, text: str):
    return readings_import(
        actor=actor, rows=csv_rows(text), file_name="readings.csv", today=TODAY, now=NOW
    )


class TestImport:
    def test_csv_rows_go_in_and_the_same_file_again_changes_nothing(self, city, meters):
        south, _north = meters
        text = (
            "电能表资产编号,冻结日期,正向有功总,反向有功总,尖,峰,平,谷\n"
            f"{south.meter_asset_number},2026-11-01,1149.24,0,100,300,500,249.24\n"
            f"{south.meter_asset_number},2026/11/2,1150.5,0,100,300,501,249.5\n"
        )

        first = run(city.south_admin, text)
        second = run(city.south_admin, text)

        assert (first.created, first.corrected, first.unchanged) == (2, 0, 0)
        assert (second.created, second.corrected, second.unchanged) == (0, 0, 2)
        reading = MeterReading.objects.get(reading_date=dt.date(2026, 11, 2))
        assert (reading.forward_total, reading.flat) == (Decimal("1150.50"), Decimal("501.00"))

    def test_a_corrected_reading_replaces_the_old_one_and_keeps_it_as_history(self, city, meters):
        south, _north = meters
        header = "电能表资产编号,冻结日期,正向有功总,反向有功总\n"
        run(city.south_admin, header + f"{south.meter_asset_number},2026-11-01,1149.24,0\n")

        result = run(
            city.south_admin, header + f"{south.meter_asset_number},2026-11-01,1149.42,0\n"
        )

        assert (result.created, result.corrected) == (0, 1)
        assert MeterReading.objects.get().forward_total == Decimal("1149.42")
        assert MeterReadingRevision.objects.get().forward_total == Decimal("1149.24")

    def test_an_xlsx_export_with_a_title_row_goes_in(self, city, meters):
        south, _north = meters
        book = openpyxl.Workbook()
        book.active.append(["采集系统日冻结数据"])
        book.active.append(["电能表资产编号", "冻结日期", "正向有功总", "反向有功总"])
        book.active.append([int(south.meter_asset_number), dt.datetime(2026, 11, 1), 12.5, 0])
        buffer = io.BytesIO()
        book.save(buffer)

        result = readings_import(
            actor=city.south_admin,
            rows=rows_from_file(buffer.getvalue(), "data.xlsx"),
            file_name="data.xlsx",
            today=TODAY,
            now=NOW,
        )

        assert result.created == 1
        assert MeterReading.objects.get().forward_total == Decimal("12.50")


class TestBadInput:
    def test_every_problem_is_reported_by_row_and_nothing_is_written(self, city, meters):
        south, north = meters
        text = (
            "电能表资产编号,冻结日期,正向有功总,反向有功总\n"
            f"{south.meter_asset_number},2026-11-01,10,0\n"
            "3310999999999,2026-11-01,10,0\n"
            f"{south.meter_asset_number},2026-12-01,10,0\n"
            f"{south.meter_asset_number},2026-11-02,-5,0\n"
            f"{south.meter_asset_number},2026-11-03,abc,0\n"
            f"{north.meter_asset_number},2026-11-01,10,0\n"
        )

        with pytest.raises(UnableToImportReadings) as refusal:
            run(city.south_admin, text)

        assert refusal.value.problems == [
            "第 3 行 A 列（电能表资产编号）：电能表 3310999999999 不是任何群组的参考表。",
            "第 4 行 B 列（冻结日期）：日期 2026-12-01 在未来。",
            "第 5 行 C 列（正向有功总）：示数不能为负数。",
            "第 6 行 C 列（正向有功总）：“abc”不是数字。",
            f"第 7 行 A 列（电能表资产编号）：电能表 {north.meter_asset_number} 属于其他单位，您无权导入。",
        ]
        assert MeterReading.objects.count() == 0

    def test_the_same_day_twice_with_different_values_is_refused(self, city, meters):
        south, _north = meters
        text = (
            "电能表资产编号,冻结日期,正向有功总,反向有功总\n"
            f"{south.meter_asset_number},2026-11-01,10,0\n"
            f"{south.meter_asset_number},2026-11-01,11,0\n"
        )

        with pytest.raises(UnableToImportReadings) as refusal:
            run(city.south_admin, text)

        assert refusal.value.problems == [
            f"第 2 行与第 3 行：电能表 {south.meter_asset_number} 在 2026-11-01 的示数不一致。"
        ]
        assert MeterReading.objects.count() == 0

    def test_the_command_reports_json_and_fails_clearly(self, city, meters, tmp_path):
        south, _north = meters
        good = tmp_path / "good.csv"
        good.write_text(
            "meter_asset_number,date,forward_total,reverse_total\n"
            f"{south.meter_asset_number},2026-11-01,10,0\n",
            encoding="utf-8",
        )
        bad = tmp_path / "bad.csv"
        bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
        output = io.StringIO()

        call_command(
            "import_readings", str(good), "--format", "json", stdout=output, stderr=io.StringIO()
        )
        with pytest.raises(CommandError) as refusal:
            call_command("import_readings", str(bad), stderr=io.StringIO())

        assert '"created": 1' in output.getvalue()
        assert "未找到表头" in str(refusal.value)


@pytest.mark.django_db(transaction=True)
class TestImportPage:
    def test_an_upload_becomes_a_background_job_with_its_counts(self, client, city):
        from django.urls import reverse

        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        upload = io.BytesIO(
            (
                "电能表资产编号,冻结日期,正向有功总,反向有功总\n"
                f"{group.meter_asset_number},2026-11-01,10,0\n"
                f"{group.meter_asset_number},2026-11-02,11,0\n"
            ).encode("gb18030")
        )
        upload.name = "采集.csv"
        client.force_login(city.south_admin)

        response = client.post(reverse("readings:import"), {"file": upload})
        factories.run_queued_tasks()
        page = client.get(response["Location"]).content.decode()

        assert "共 2 行：新增 2，更正 0，未变 0。" in page
        assert MeterReading.objects.count() == 2

    def test_a_job_whose_user_lost_the_role_fails_with_the_reason(self, client, city):
        from refmeter.common.models import Job, JobStatus
        from refmeter.organisations.models import Role

        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        collector = factories.user(unit=city.south, role=Role.DATA_COLLECTION)
        upload = io.BytesIO(
            f"电能表资产编号,冻结日期,正向有功总,反向有功总\n{group.meter_asset_number},2026-11-01,10,0\n".encode()
        )
        upload.name = "采集.csv"
        client.force_login(collector)
        client.post(reverse("readings:import"), {"file": upload})
        collector.role = Role.BILLING
        collector.save(update_fields=["role"])

        factories.run_queued_tasks()

        job = Job.objects.get()
        assert (job.status, job.errors) == (
            JobStatus.FAILED,
            ["导入抄表数据须由采集运维人员办理，您的岗位角色无权操作。"],
        )
        assert MeterReading.objects.count() == 0
