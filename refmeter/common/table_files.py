"""The rows of an uploaded table, whatever it is: a workbook (xlsx, xls, ods) or a CSV.

Workbooks are told apart from CSV by their first bytes (a zip package or an OLE compound
file), not by the name, so a file renamed by a mail client still reads; everything is read
through the hardened reader of :mod:`refmeter.common.spreadsheets`.
"""

from __future__ import annotations

import io
import os
from typing import IO

from refmeter.common.spreadsheets import (
    OLE_MAGIC,
    ZIP_MAGIC,
    Sheet,
    Source,
    UnreadableSpreadsheet,
    iter_csv_rows,
    open_sheets,
)

__all__ = ["CSV_SHEET", "Sheet", "UnreadableSpreadsheet", "table_sheet"]

# The sheet name a CSV file's rows are given (a CSV has one table and no name for it).
CSV_SHEET = "CSV"


def _head(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:8])
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as opened:
                return opened.read(8)
        except OSError:
            return b""  # the reader says why it cannot open it
    stream: IO[bytes] = source
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    return head


def table_sheet(source: Source) -> Sheet:
    """The first sheet of a workbook with its name, or the rows of a CSV (UTF-8, GB18030
    or UTF-16) as a sheet named ``CSV``."""
    head = _head(source)
    if head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC) or not head:
        return open_sheets(source)[0]
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(bytes(source))
    return Sheet(name=CSV_SHEET, rows=list(iter_csv_rows(source)))
