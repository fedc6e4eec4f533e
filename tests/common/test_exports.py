"""Exports people can use: cell types, widths, a frozen header, formula-safe text, names."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from refmeter.common.tables import csv_response, export_name, write_xlsx, xlsx_response

HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data)).active


class TestXlsxCells:
    def test_numbers_dates_and_text_keep_their_types(self):
        data = write_xlsx(
            title="电费账单",
            header=["账单号", "计费开始", "结算电量", "天数", "签发时间"],
            rows=[
                ["DF202610-1702017329", dt.date(2026, 10, 1), Decimal("13902.24"), 31,
                 dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.UTC)],
            ],
        )  # fmt: skip

        sheet = workbook(data)

        number, start, energy, days, issued = (cell for cell in sheet[2])
        assert (number.value, number.data_type) == ("DF202610-1702017329", "s")
        assert start.value == dt.datetime(2026, 10, 1) and start.is_date
        assert start.number_format == "yyyy-mm-dd"
        assert (energy.value, energy.data_type, energy.number_format) == (13902.24, "n", "0.00")
        assert (days.value, days.data_type) == (31, "n")
        assert issued.value == dt.datetime(2026, 11, 1, 9, 30)  # Asia/Shanghai, as read

    def test_formula_like_text_stays_text(self):
        data = write_xlsx(title="清单", header=["户名"], rows=[[text] for text in HOSTILE])

        sheet = workbook(data)

        cells = [row[0] for row in sheet.iter_rows(min_row=2)]
        assert [cell.value for cell in cells] == HOSTILE
        assert [cell.data_type for cell in cells] == ["s"] * 4
        assert all(cell.quotePrefix for cell in cells)
        assert b"<f>" not in _sheet_xml(data)

    def test_the_header_is_frozen_and_bold_and_columns_fit_their_content(self):
        data = write_xlsx(
            title="清单",
            header=["户号", "设备地址"],
            rows=[["1702017329", "越城区城南大道1号2单元3楼楼道弱电井内"]],
        )

        sheet = workbook(data)

        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.b and sheet["B1"].font.b
        assert sheet.column_dimensions["A"].width == 12  # ten digits and a margin
        assert sheet.column_dimensions["B"].width == 2 * 17 + 3 + 2  # a CJK character counts twice


def _sheet_xml(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


class TestCsv:
    def test_formula_like_text_gets_an_apostrophe_and_numbers_do_not(self):
        response = csv_response(
            header=["户名", "电量"],
            rows=[[text, Decimal("-3.5")] for text in HOSTILE],
            name="x.csv",
        )

        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))

        assert rows[1:] == [["'" + text, "-3.50"] for text in HOSTILE]


class TestFileNames:
    def test_a_name_says_what_for_whom_and_when(self):
        assert export_name("电费", "越城城南供电服务区", "2026-10", extension="xlsx") == (
            "电费_越城城南供电服务区_2026-10.xlsx"
        )

    def test_characters_a_file_system_refuses_are_left_out(self):
        assert export_name("台区/线损", 'a"b', "", extension="csv") == "台区线损_ab.csv"

    @pytest.mark.parametrize("name", ["电费_越城城南供电服务区_2026-10.xlsx"])
    def test_the_download_carries_the_chinese_name(self, name):
        response = xlsx_response(title="电费账单", header=["户号"], rows=[], name=name)

        assert response["Content-Disposition"] == (
            "attachment; filename*=utf-8''%E7%94%B5%E8%B4%B9_%E8%B6%8A%E5%9F%8E%E5%9F%8E%E5%8D%97"
            "%E4%BE%9B%E7%94%B5%E6%9C%8D%E5%8A%A1%E5%8C%BA_2026-10.xlsx"
        )
