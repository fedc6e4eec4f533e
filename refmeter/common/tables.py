"""Exporting a list as an xlsx workbook (or CSV) that people can use; any app may use it.

What the spreadsheet is for decides its shape: a frozen header row, columns wide enough
for what is in them, dates as dates, numbers as numbers (money and energy with two
decimals), and a file name that says what it is. Text is never taken for a formula: a
cell starting with ``=``, ``+``, ``-`` or ``@`` stays text in Excel, WPS and LibreOffice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DECIMAL_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Column widths are fitted to the header and the first rows (the rest is streamed).
WIDTH_SAMPLE_ROWS = 1000
MAX_WIDTH = 60


def _display_width(text: str) -> int:
    """Characters as wide as Excel draws them: a CJK character takes two columns."""
    return sum(2 if ord(character) > 0x2E7F else 1 for character in text)


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return "0000-00-00 00:00"
    if isinstance(value, dt.date):
        return "0000-00-00"
    return str(value)


def _cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    if isinstance(value, dt.datetime):
        # Excel has no time zones: the local (Asia/Shanghai) time as people read it.
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        cell = WriteOnlyCell(sheet, value=local.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DECIMAL_FORMAT
        return cell
    if isinstance(value, bool | int | float) or value is None:
        return WriteOnlyCell(sheet, value=value)
    text = str(value)
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_STARTS):
        # openpyxl stores "=…" as a formula; a string cell with the quote prefix stays
        # text even when someone edits it in Excel or WPS.
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its tab's title, its header row and its rows (any iterable,
    streamed)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]


def _write_sheet(workbook: Workbook, sheet_data: Sheet) -> None:
    sheet = workbook.create_sheet(title=sheet_data.title[:31])
    header = sheet_data.header
    rows = iter(sheet_data.rows)
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    widths = [_display_width(str(text)) for text in header]
    for row in sample:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], _display_width(_shown(value)))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, width + 2)
    sheet.freeze_panes = "A2"
    header_cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=str(text))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in itertools.chain(sample, rows):
        sheet.append([_cell(sheet, value) for value in row])


def write_workbook(sheets: Sequence[Sheet]) -> bytes:
    """Sheets with a bold, frozen header row each, streamed row by row (write-only mode)."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(workbook, sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(*, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One sheet with a bold, frozen header row, streamed row by row (write-only mode)."""
    return write_workbook([Sheet(title=title, header=header, rows=rows)])


def csv_text(value: object) -> str:
    """A CSV field that a spreadsheet cannot run: text that looks like a formula gets a
    leading apostrophe (numbers, negative ones included, are written as they are)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime(
            "%Y-%m-%d %H:%M"
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bool | int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_name(*parts: object, extension: str) -> str:
    """``电费_越城城南供电服务区_2026-10.xlsx``: what the file is, for whom, when."""
    cleaned = [
        "".join(c for c in str(part) if c not in '\\/:*?"<>|\r\n\t').strip() for part in parts
    ]
    return "_".join(part for part in cleaned if part) + f".{extension}"


def attachment(name: str) -> str:
    """A Content-Disposition header for a download named ``name`` (Chinese included)."""
    return str(content_disposition_header(True, name))


def xlsx_response(
    *, title: str, header: Sequence[str], rows: Iterable[Sequence[object]], name: str
) -> HttpResponse:
    response = HttpResponse(write_xlsx(title=title, header=header, rows=rows), content_type=XLSX)
    response["Content-Disposition"] = attachment(name)
    return response


def workbook_response(*, sheets: Sequence[Sheet], name: str) -> HttpResponse:
    response = HttpResponse(write_workbook(sheets), content_type=XLSX)
    response["Content-Disposition"] = attachment(name)
    return response


def export_refused(request: HttpRequest, problems: Sequence[str]) -> HttpResponse:
    """A list's export asked with filters the page refuses: the page's own messages, as a
    400, rather than a workbook of something else."""
    return render(request, "refusal.html", {"message": " ".join(problems)}, status=400)


def csv_response(
    *, header: Sequence[str], rows: Iterable[Sequence[object]], name: str
) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([csv_text(value) for value in row] for row in rows)
    # With a byte-order mark, so that Excel opens the UTF-8 file as UTF-8.
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")
    response["Content-Disposition"] = attachment(name)
    return response
