from __future__ import annotations

import io

import openpyxl
import pytest

from refmeter.audit.models import AuditEntry
from refmeter.common.spreadsheets import UnreadableSpreadsheet, read_rows
from refmeter.registry.models import AccessPoint, NearbyNumber
from refmeter.registry.services import UnableToLoadNearbyIndex, nearby_index_load
from tests.factories import NOW


def marketing_export(rows: list[list[object]]) -> io.BytesIO:
    """An export as the marketing system writes it: a merged title row above the header."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["营销系统就近户号索引导出"])
    sheet.merge_cells("A1:F1")
    sheet.append(["就近户号/局号", "类型", "接入点编号", "接入点名称", "台区编号", "台区名称"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


class TestNearbyIndexLoad:
    def test_a_marketing_export_loads_with_its_title_row_and_odd_number_formats(self, city):
        export = marketing_export(
            [
                [1701636729.0, "户号", "33503000009083788", None, None, None],
                ["１７０１６３６７３０", "电能表局号", " 33503000009083799 ", None, None, None],
                [None, None, None, None, None, None],
                ["1701636731", "户号", "33503000009099999", "新建2#配3幢终端箱", "3310000001", ""],
            ]
        )

        result = nearby_index_load(actor=city.south_admin, rows=read_rows(export), now=NOW)

        assert (result.created, result.updated, result.access_points_created) == (3, 0, 1)
        index = dict(NearbyNumber.objects.values_list("number", "access_point__number"))
        assert index == {
            "1701636729": "33503000009083788",
            "1701636730": "33503000009083799",
            "1701636731": "33503000009099999",
        }
        assert NearbyNumber.objects.get(number="1701636730").kind == "meter"
        assert AccessPoint.objects.get(number="33503000009099999").area == city.south_area

    def test_loading_the_same_file_again_changes_nothing(self, city):
        rows = read_rows(marketing_export([["1701636729", "户号", "33503000009083788"]]))
        nearby_index_load(actor=city.south_admin, rows=rows, now=NOW)

        result = nearby_index_load(actor=city.south_admin, rows=rows, now=NOW)

        assert (result.created, result.updated, result.unchanged) == (0, 0, 1)

    def test_every_bad_row_is_reported_and_nothing_is_written(self, city):
        export = marketing_export(
            [
                ["1701636729", "户号", "33503000009083788"],
                ["1701636729", "户号", "33503000009083788"],
                ["1701636740", "户号", "3350300000908"],
                ["1701636741", "户号", "33503000009084001"],
                ["1701636742", "水表", "33503000009083788"],
                ["1701636743", "户号", "33503000001111111", "无台区接入点", "", ""],
            ]
        )
        audit_before = AuditEntry.objects.count()

        with pytest.raises(UnableToLoadNearbyIndex) as refusal:
            nearby_index_load(actor=city.south_admin, rows=read_rows(export), now=NOW)

        assert refusal.value.problems == [
            "第 4 行：号码 1701636729 在文件中重复出现。",
            "第 5 行：接入点编号应为 17 位数字，“3350300000908”不是。",
            "第 6 行：接入点 33503000009084001 属于其他单位。",
            "第 7 行：无法识别的号码类型“水表”（应为户号、局号或杆号/箱号）。",
            "第 8 行：接入点 33503000001111111 尚未登记，需同时提供接入点名称和台区编号。",
        ]
        assert NearbyNumber.objects.count() == 0
        assert AuditEntry.objects.count() == audit_before

    def test_a_sheet_without_the_header_is_refused(self, city):
        with pytest.raises(UnableToLoadNearbyIndex) as refusal:
            nearby_index_load(actor=city.south_admin, rows=[["户号", "名称"], ["1", "x"]], now=NOW)

        assert str(refusal.value) == ("未找到表头：表格应包含“就近户号/局号”和“接入点编号”两列。")


class TestReadingSpreadsheets:
    def test_a_file_that_is_not_a_spreadsheet_is_refused_clearly(self):
        with pytest.raises(UnreadableSpreadsheet) as refusal:
            read_rows(io.BytesIO(b"%PDF-1.4 not a spreadsheet"))

        assert str(refusal.value) == (
            "无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。"
        )


class TestLoadCommand:
    def test_the_command_loads_a_file_and_reports_the_counts(self, city, tmp_path):
        from django.core.management import call_command

        path = tmp_path / "export.xlsx"
        path.write_bytes(marketing_export([["1701636729", "户号", "33503000009083788"]]).read())
        output = io.StringIO()

        call_command(
            "load_nearby_index",
            str(path),
            "--user",
            "south_admin",
            "--format",
            "json",
            stdout=output,
        )

        assert output.getvalue().strip() == (
            '{"created": 1, "updated": 0, "unchanged": 0, "access_points_created": 0}'
        )

    def test_a_bad_file_fails_with_every_problem_and_writes_nothing(self, city, tmp_path):
        from django.core.management import CommandError, call_command

        path = tmp_path / "export.xlsx"
        path.write_bytes(marketing_export([["", "户号", "1"], ["1701636729", "户号", "2"]]).read())

        with pytest.raises(CommandError) as refusal:
            call_command("load_nearby_index", str(path), "--user", "south_admin")

        assert str(refusal.value) == (
            "未导入，共 2 个问题：\n第 3 行：就近户号/局号为空。\n"
            "第 4 行：接入点编号应为 17 位数字，“2”不是。"
        )
        assert NearbyNumber.objects.count() == 0
