"""The regular-expression check of plain worksheets reaches the XML parser's verdict on
every file, counts at least what the parser counts (and not much more), and hands
anything unusual to the parser."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.common.spreadsheets.bounds import _Budget, limits
from refmeter.common.spreadsheets.fast_scan import FastWorksheetScan
from refmeter.common.spreadsheets.zip_packages import _scan_zip
from tests.common import hostile
from tests.common.hostile import MAIN


def _openpyxl(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _shared(strings: list[str], rows: str) -> bytes:
    items = "".join(f"<si><t>{text}</t></si>" for text in strings)
    return hostile.xlsx(
        hostile.sheet_xml(rows), shared_strings=f'<sst xmlns="{MAIN}">{items}</sst>'
    )


PLAIN = {
    "openpyxl, shared strings": lambda: _openpyxl(
        [
            ["户号", "户名", "地址"],
            *[[f"17{n:08d}", f"点位{n}", f"城南&{n}<号>"] for n in range(300)],
        ]
    ),
    "inline strings": hostile.application_list_xlsx,
    "shared strings with entities": lambda: _shared(
        ["a&amp;b", "&#x4E2D;&#25991;", "x\r\ny"],
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" s="2" t="s"><v>1</v></c>'
        '<c r="C1" t="s" s="3"><v>2</v></c><c r="D1" s="1"/></row>'
        '<row r="2"><c r="A2" t="str"><v>a &lt; b</v></c><c r="E2"><v>3.5</v></c></row>',
    ),
    "dimension bomb": hostile.dimension_bomb,
    "declared dimension bomb": hostile.declared_dimension_bomb,
    "wide sheet": hostile.wide_sheet,
    "shared string amplifier": hostile.shared_string_amplifier,
    "formula": lambda: hostile.xlsx(
        hostile.sheet_xml('<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>')
    ),
    "wps style fixture": lambda: (
        hostile.FIXTURES / "application_list_wps_style.xlsx"
    ).read_bytes(),
    "libreoffice fixture": lambda: (
        hostile.FIXTURES / "application_list_libreoffice.xlsx"
    ).read_bytes(),
}

UNUSUAL = {
    "prefixed elements": lambda: hostile.formula_in_renamed_part(),
    "a cell without r": lambda: hostile.xlsx(
        hostile.sheet_xml('<row r="1"><c t="inlineStr"><is><t>x</t></is></c></row>')
    ),
    "a comment": lambda: hostile.xlsx(
        hostile.sheet_xml('<!-- x --><row r="1"><c r="A1"><v>1</v></c></row>')
    ),
    "a doctype": lambda: hostile.xxe("xl/worksheets/sheet1.xml"),
    "utf-16": lambda: hostile.xlsx(
        hostile.sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>')
        .replace('encoding="UTF-8"', 'encoding="UTF-16"')
        .encode("utf-16")  # type: ignore[arg-type]
    ),
    "a shared string out of range": lambda: _shared(
        ["a"], '<row r="1"><c r="A1" t="s"><v>7</v></c></row>'
    ),
    "an unknown entity": lambda: hostile.xlsx(
        hostile.sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>&nbsp;</t></is></c></row>')
    ),
}


def _verdict(data: bytes, *, fast: bool, monkeypatch, keep_rows: bool = True):
    used: list[bool] = []
    original = FastWorksheetScan.run

    def run(self, blocks):
        if not fast:
            used.append(False)
            return False
        result = original(self, blocks)
        used.append(result)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(FastWorksheetScan, "run", run)
        budget = _Budget(max_rows=300_000, limits=limits(), keep_rows=keep_rows)
        try:
            _scan_zip(io.BytesIO(data), budget)
        except UnreadableSpreadsheet as refusal:
            return ("refused", str(refusal)), used, budget
        return ("read", budget.cells), used, budget


@pytest.mark.parametrize("name", list(PLAIN))
@pytest.mark.parametrize("keep_rows", [True, False])
def test_plain_worksheets_get_the_parsers_verdict(name, keep_rows, monkeypatch):
    data = PLAIN[name]()
    fast, used, fast_budget = _verdict(
        data, fast=True, monkeypatch=monkeypatch, keep_rows=keep_rows
    )
    slow, _unused, slow_budget = _verdict(
        data, fast=False, monkeypatch=monkeypatch, keep_rows=keep_rows
    )

    assert fast == slow
    assert (used and used[0] is True) or fast[0] == "refused"
    if fast[0] == "read":
        # as much as the parser counts, give or take the odd entity
        assert slow_budget.memory <= fast_budget.memory <= slow_budget.memory * 1.02 + 64


@pytest.mark.parametrize("name", list(UNUSUAL))
def test_anything_unusual_goes_to_the_parser(name, monkeypatch):
    data = UNUSUAL[name]()
    fast, used, _budget = _verdict(data, fast=True, monkeypatch=monkeypatch)
    slow, _unused, _slow_budget = _verdict(data, fast=False, monkeypatch=monkeypatch)

    assert fast == slow
    assert False in used or not used


def test_a_real_stock_list_takes_the_fast_path(monkeypatch):
    stock = Path(__file__).resolve().parents[1] / "fixtures" / "go_live" / "stock.xlsx"
    fast, used, _budget = _verdict(stock.read_bytes(), fast=True, monkeypatch=monkeypatch)

    assert fast[0] == "read"
    assert used and all(used)
