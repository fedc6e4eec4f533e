"""Reading an export back as the person who opens it would: its sheet, its cells, its name."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import unquote

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

FORMULA = '=HYPERLINK("http://evil.example","点我")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet(response, index: int = 0) -> Worksheet:
    assert response.status_code == 200, response.content.decode()[:500]
    assert response["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(response.content)).worksheets[index]


def header(ws: Worksheet) -> list[str]:
    return [cell.value for cell in ws[1]]


def rows(ws: Worksheet) -> list[tuple]:
    return list(ws.iter_rows(min_row=2, values_only=True))


def column(ws: Worksheet, title: str) -> list:
    index = header(ws).index(title)
    return [row[index] for row in rows(ws)]


def cell(ws: Worksheet, row: int, title: str):
    """The cell of data row ``row`` (1 is the first under the header) in column ``title``."""
    return ws.cell(row=row + 1, column=header(ws).index(title) + 1)


def file_name(response) -> str:
    """The download's name as the browser saves it (RFC 5987 ``filename*``)."""
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    return unquote(disposition.split("filename*=utf-8''", 1)[1])


def no_formulas(response) -> bool:
    """True when no sheet of the workbook holds a formula element."""
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return not any(
            b"<f>" in archive.read(name)
            for name in archive.namelist()
            if name.startswith("xl/worksheets/")
        )


def assert_text_not_formula(ws: Worksheet, row: int, title: str) -> None:
    found = cell(ws, row, title)
    assert (found.value, found.data_type, found.quotePrefix) == (FORMULA, "s", True)


def assert_date(ws: Worksheet, row: int, title: str) -> None:
    found = cell(ws, row, title)
    assert found.is_date, (title, found.value)
    assert found.number_format in ("yyyy-mm-dd", "yyyy-mm-dd hh:mm")


def assert_two_decimals(ws: Worksheet, row: int, title: str, value: float) -> None:
    found = cell(ws, row, title)
    assert (found.value, found.data_type, found.number_format) == (value, "n", "0.00")
