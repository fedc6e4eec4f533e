"""Reading the spreadsheets and CSV files people send, safely.

Accepted: .xlsx (Excel, WPS, LibreOffice), legacy .xls and .ods, and CSV in UTF-8,
GB18030 (GBK) or UTF-16 with a byte-order mark. Every file is checked before the
spreadsheet library sees it, streaming, with bounded memory: its size; for a zip
package (xlsx, ods) the directory (member count, names, encryption, declared sizes
and compression ratio) and then every member, inflated here with the real sizes
checked against the declared ones; every XML part parsed without a DTD (a DOCTYPE is
refused, so no external entity is ever resolved); and every sheet's declared and real
extent, cell count, text volume and formulas. For .xls the same from the BIFF records
of the compound file. Only then is the workbook opened, so a sheet that would take
more memory than allowed is never allocated. CSV is decoded and read a line at a time.

Refusals are :class:`UnreadableSpreadsheet` with a message a clerk understands.
Limits come from the settings (see docs/operations.md), read at each call.
"""

from refmeter.common.spreadsheets.bounds import (
    CELL_RANGE_BYTES,
    CELL_READ_BYTES,
    CSV_SUFFIXES,
    DEFAULT_MAX_ROWS,
    MAX_COLUMNS,
    MAX_COMPRESSION_RATIO,
    MAX_CSV_LINE_BYTES,
    MAX_MEMBERS,
    MAX_UNPACKED_BYTES,
    MB,
    OLE_MAGIC,
    PYTHON_CELL_BYTES,
    SHEET_ROOTS,
    STRING_BYTES,
    ZIP_MAGIC,
    Limits,
    Sheet,
    Source,
    UnreadableSpreadsheet,
    check_upload_size,
    is_csv_name,
    limits,
)
from refmeter.common.spreadsheets.csv_files import CSV_SAMPLE_BYTES, iter_csv_rows
from refmeter.common.spreadsheets.headers import column_letter, find_header
from refmeter.common.spreadsheets.opening import (
    iter_sheet_rows,
    open_sheets,
    plain_value,
    read_rows,
    sheet_names,
)
from refmeter.common.spreadsheets.sources import spreadsheet_bytes

__all__ = [
    "CELL_RANGE_BYTES",
    "CELL_READ_BYTES",
    "CSV_SAMPLE_BYTES",
    "CSV_SUFFIXES",
    "DEFAULT_MAX_ROWS",
    "MAX_COLUMNS",
    "MAX_COMPRESSION_RATIO",
    "MAX_CSV_LINE_BYTES",
    "MAX_MEMBERS",
    "MAX_UNPACKED_BYTES",
    "MB",
    "OLE_MAGIC",
    "PYTHON_CELL_BYTES",
    "SHEET_ROOTS",
    "STRING_BYTES",
    "ZIP_MAGIC",
    "Limits",
    "Sheet",
    "Source",
    "UnreadableSpreadsheet",
    "check_upload_size",
    "column_letter",
    "find_header",
    "is_csv_name",
    "iter_csv_rows",
    "iter_sheet_rows",
    "limits",
    "open_sheets",
    "plain_value",
    "read_rows",
    "sheet_names",
    "spreadsheet_bytes",
]
