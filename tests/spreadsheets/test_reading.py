from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
from refmeter.spreadsheets.application_list import ApplicationLine, parse_application_list

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spreadsheets"
EXPECTED = [
    ApplicationLine(6, "城南新村56幢电信车库", "56幢2单元计量箱内", "1701636729", "add"),
    ApplicationLine(7, "南江枫林28幢2单元", "终端箱下桩头", "1701636730", "add"),
    ApplicationLine(9, "南苑小区3幢机房", "3幢1单元表箱", "1701636731", "add"),
]


def parse(name: str):
    return parse_application_list(open_sheets((FIXTURES / name).read_bytes())[0].rows)


class TestApplicationListsAsCustomersSendThem:
    @pytest.mark.parametrize(
        "name",
        [
            "application_list_wps_style.xlsx",
            "application_list_libreoffice.xlsx",
            "application_list_legacy.xls",
            "application_list.ods",
        ],
    )
    def test_every_format_reads_to_the_same_lines(self, name):
        parsed = parse(name)

        assert parsed.problems == []
        assert parsed.device_type == "楼道EPON设备"
        assert parsed.base_account_number == ""
        assert parsed.lines == EXPECTED

    def test_every_problem_is_reported_by_row_and_column(self):
        rows = [
            ["接电申请清单"],
            ["序号", "点位名称", "接电位置", "就近户号/局号", "备注"],
            [1, "", "1幢", "1701636729", "新增"],
            [2, "甲", "", "", "改名"],
        ]

        parsed = parse_application_list(rows)

        assert [str(problem) for problem in parsed.problems] == [
            "第 3 行 B 列（点位名称）：点位名称不能为空。",
            "第 4 行 C 列（接电位置）：接电位置不能为空。",
            "第 4 行 D 列（就近户号/局号）：就近户号/局号不能为空。",
            "第 4 行 E 列（备注）：备注应为“新增”或“取消”，而不是“改名”。",
        ]
        assert parsed.lines == []

    def test_a_wrong_template_is_refused(self):
        parsed = parse_application_list([["户号", "金额"], ["1", "2"]])

        assert [str(problem) for problem in parsed.problems] == [
            "不是接电申请清单：未找到“点位名称、接电位置、就近户号/局号、备注”表头。"
            "请使用系统提供的模板。"
        ]


def xlsx(build) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class TestHostileFiles:
    def test_a_file_that_is_not_a_spreadsheet(self):
        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(b"\x89PNG\r\n\x1a\n not a sheet")

        assert str(refusal.value) == (
            "无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。"
        )

    def test_a_word_document_is_not_a_spreadsheet(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as package:
            package.writestr("word/document.xml", "<w:document/>")

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(buffer.getvalue())

        assert "无法识别的文件" in str(refusal.value)

    def test_an_encrypted_workbook(self):
        data = (FIXTURES / "application_list_encrypted.xlsx").read_bytes()

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(data)

        assert str(refusal.value) == "文件设置了打开密码：请取消密码后重新上传。"

    def test_a_corrupt_workbook(self):
        data = (FIXTURES / "application_list_wps_style.xlsx").read_bytes()

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(data[: len(data) // 2])

        assert str(refusal.value) == "文件已损坏，无法打开：请在 Excel 或 WPS 中另存后重新上传。"

    def test_a_zip_bomb_is_refused_without_unpacking_it(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
            package.writestr("xl/workbook.xml", "<workbook/>")
            with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                block = b"0" * (1024 * 1024)
                for _ in range(500):
                    member.write(block)
        tracemalloc.start()

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(buffer.getvalue())

        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert str(refusal.value) == "文件解压后异常巨大（疑似压缩炸弹），已拒绝。请检查文件来源。"
        assert peak < 50 * 1024 * 1024

    def test_a_sheet_of_a_million_rows_is_refused_in_bounded_memory(self):
        # Written by hand: a real sheet XML with 1,000,000 rows, streamed into the zip.
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
            package.writestr("[Content_Types].xml", "<Types/>")
            package.writestr("xl/workbook.xml", "<workbook/>")
            with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                member.write(b"<worksheet><sheetData>")
                for number in range(1, 1_000_001):
                    member.write(
                        b'<row r="%d"><c r="A%d" t="n"><v>1</v></c></row>' % (number, number)
                    )
                member.write(b"</sheetData></worksheet>")
        tracemalloc.start()

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(buffer.getvalue())

        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert str(refusal.value) == "工作表超过 200000 行，已拒绝；请拆分后分批导入。"
        assert peak < 80 * 1024 * 1024

    def test_formulas_instead_of_values_are_refused(self):
        def build(sheet):
            sheet.append(["序号", "点位名称", "接电位置", "就近户号/局号", "备注"])
            sheet.append([1, "甲", "1幢", "=1701636729+0", "新增"])

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(xlsx(build))

        assert str(refusal.value) == (
            "表格中含有公式：请将公式单元格复制后“选择性粘贴为数值”，再上传。"
        )


class TestCheckListCommand:
    def test_reports_the_rows_it_understood_as_json(self, nearby_index):
        import io
        import json

        from django.core.management import call_command

        output = io.StringIO()

        call_command(
            "check_list",
            str(FIXTURES / "application_list_legacy.xls"),
            "--format",
            "json",
            stdout=output,
        )

        report = json.loads(output.getvalue())
        assert report["device_type"] == "楼道EPON设备"
        assert [line["nearby_number"] for line in report["lines"]] == [
            "1701636729",
            "1701636730",
            "1701636731",
        ]
        assert report["problems"] == []

    def test_a_list_with_problems_exits_non_zero_with_every_problem(self, db, tmp_path):
        from django.core.management import CommandError, call_command

        book = openpyxl.Workbook()
        book.active.append(["序号", "点位名称", "接电位置", "就近户号/局号", "备注"])
        book.active.append([1, "甲", "", "1701636729", "新增"])
        path = tmp_path / "list.xlsx"
        book.save(path)

        with pytest.raises(CommandError) as refusal:
            call_command("check_list", str(path), stdout=io.StringIO())

        assert str(refusal.value) == "清单有问题：\n第 2 行 C 列（接电位置）：接电位置不能为空。"
