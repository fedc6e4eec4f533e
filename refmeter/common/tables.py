"""Writing and reading simple tables as spreadsheets.

Only generic table handling lives here (no business meaning), so that any app
may export a list or read a list it was sent.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

# A spreadsheet larger than this is refused before it is opened: the marketing
# system's largest exports are a few MiB.
MAX_SPREADSHEET_BYTES = 50 * 1024 * 1024
MAX_SPREADSHEET_ROWS = 200_000


class UnreadableSpreadsheet(Exception):
    """The file could not be read as a spreadsheet; the message is fit to show a user."""


def write_xlsx(*, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One sheet with a bold header row, streamed row by row (write-only mode)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    header_cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_rows(source: str | Path | IO[bytes]) -> list[list[object]]:
    """All rows of the first sheet of an xlsx, xls or ods file, as plain values."""
    from python_calamine import CalamineWorkbook

    try:
        data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
    except OSError as error:
        raise UnreadableSpreadsheet(
            _("无法读取文件：%(reason)s") % {"reason": error.strerror}
        ) from error
    if len(data) > MAX_SPREADSHEET_BYTES:
        raise UnreadableSpreadsheet(_("文件超过 50 MB，请拆分后再导入。"))
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        if sheet.height > MAX_SPREADSHEET_ROWS:
            raise UnreadableSpreadsheet(
                _("工作表有 %(rows)d 行，超过上限 %(limit)d 行。")
                % {"rows": sheet.height, "limit": MAX_SPREADSHEET_ROWS}
            )
        return [list(row) for row in sheet.to_python(skip_empty_area=False)]
    except UnreadableSpreadsheet:
        raise
    except Exception as error:
        raise UnreadableSpreadsheet(
            _("无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。")
        ) from error
