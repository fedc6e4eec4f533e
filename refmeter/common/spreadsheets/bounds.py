"""The bounds a file must keep within, the refusals when it does not (an upload's size
checked first), and the budget that counts what reading it will cost."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO, TypeAlias

from django.conf import settings
from django.utils.translation import gettext as _

Source: TypeAlias = "bytes | str | os.PathLike[str] | IO[bytes]"

MB = 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
MAX_COLUMNS = 1000
MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 400 * MB
MAX_COMPRESSION_RATIO = 200
MAX_CSV_LINE_BYTES = 100_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
CSV_SUFFIXES = (".csv", ".txt")
SHEET_ROOTS = frozenset({"worksheet", "dialogsheet", "macrosheet"})
# What the spreadsheet library holds per cell, in bytes (measured with calamine): a
# filled cell while it is read (position and value), every cell of the sheet's
# rectangle once it is built, and a heap block per string. A list of rows kept in
# Python costs more per cell again.
CELL_READ_BYTES = 40
CELL_RANGE_BYTES = 32
STRING_BYTES = 32
PYTHON_CELL_BYTES = 64


class UnreadableSpreadsheet(Exception):
    """The file cannot be taken; the message says why, in the user's language."""


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[list[object]]


@dataclass(frozen=True)
class Limits:
    upload_bytes: int
    spreadsheet_bytes: int
    cells: int
    memory_bytes: int


def limits() -> Limits:
    """The limits in force, from the settings (documented in docs/operations.md)."""
    return Limits(
        upload_bytes=int(getattr(settings, "REFMETER_UPLOAD_MAX_MB", 500)) * MB,
        spreadsheet_bytes=int(getattr(settings, "REFMETER_SPREADSHEET_MAX_MB", 50)) * MB,
        cells=int(getattr(settings, "REFMETER_SHEET_MAX_CELLS", 2_000_000)),
        memory_bytes=int(getattr(settings, "REFMETER_SHEET_MAX_MB", 160)) * MB,
    )


# ---------------------------------------------------------------- refusals


def _refuse(message: str) -> UnreadableSpreadsheet:
    return UnreadableSpreadsheet(message)


def _not_a_spreadsheet() -> UnreadableSpreadsheet:
    return _refuse(
        _("无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。")
    )


def _corrupt() -> UnreadableSpreadsheet:
    return _refuse(_("文件已损坏，无法打开：请在 Excel 或 WPS 中另存后重新上传。"))


def _too_big(limit: int) -> UnreadableSpreadsheet:
    return _refuse(_("文件超过 %(limit)d MB，请拆分后再导入。") % {"limit": limit // MB})


def _password() -> UnreadableSpreadsheet:
    return _refuse(_("文件设置了打开密码：请取消密码后重新上传。"))


def _bomb() -> UnreadableSpreadsheet:
    return _refuse(_("文件解压后异常巨大（疑似压缩炸弹），已拒绝。请检查文件来源。"))


def _lying() -> UnreadableSpreadsheet:
    return _refuse(
        _(
            "文件内部记录的大小与实际内容不符（疑似恶意构造），已拒绝：请在 Excel 或 WPS 中"
            "另存后重新上传。"
        )
    )


def _doctype() -> UnreadableSpreadsheet:
    return _refuse(
        _(
            "文件含有 XML 文档类型或实体声明（可用于读取服务器上的文件），已拒绝：请在 Excel "
            "或 WPS 中另存后重新上传。"
        )
    )


def _formula() -> UnreadableSpreadsheet:
    return _refuse(_("表格中含有公式：请将公式单元格复制后“选择性粘贴为数值”，再上传。"))


def _too_many_rows(limit: int) -> UnreadableSpreadsheet:
    return _refuse(_("工作表超过 %(limit)d 行，已拒绝；请拆分后分批导入。") % {"limit": limit})


def _too_many_columns() -> UnreadableSpreadsheet:
    return _refuse(
        _("工作表超过 %(limit)d 列，已拒绝：请只保留需要导入的列。") % {"limit": MAX_COLUMNS}
    )


def _too_many_cells(rows: int, columns: int, limit: int) -> UnreadableSpreadsheet:
    return _refuse(
        _(
            "工作表过大（%(rows)d 行 × %(columns)d 列），超过一次导入 %(limit)d 个单元格的上限；"
            "请拆分后分批导入。"
        )
        % {"rows": rows, "columns": columns, "limit": limit}
    )


def _too_much_content(limit: int) -> UnreadableSpreadsheet:
    return _refuse(
        _("工作表内容过多（读入需要超过 %(limit)d MB 内存），已拒绝；请拆分后分批导入。")
        % {"limit": limit // MB}
    )


def is_csv_name(file_name: str) -> bool:
    return file_name.lower().endswith(CSV_SUFFIXES)


def check_upload_size(*, file_name: str, size: int, csv_allowed: bool = False) -> None:
    """Refuse an upload over its limit before it is stored: CSV (where the importer takes
    it) up to ``REFMETER_UPLOAD_MAX_MB``, spreadsheets up to ``REFMETER_SPREADSHEET_MAX_MB``."""
    limit = limits()
    allowed = (
        limit.upload_bytes if csv_allowed and is_csv_name(file_name) else limit.spreadsheet_bytes
    )
    if size > allowed:
        raise _too_big(allowed)


# ---------------------------------------------------------------- what reading will cost


@dataclass
class _Budget:
    """What the workbook will cost once read, added up while its parts are checked."""

    max_rows: int
    limits: Limits
    keep_rows: bool
    cells: int = 0  # cells of every sheet's rectangle
    memory: int = 0

    def sheet(self, *, rows: int, columns: int, filled: int) -> None:
        """Count one sheet's cells (its strings were counted as they were met), refusing
        the workbook if it is now too big."""
        self.extent(rows=rows, columns=columns)
        self.cells += rows * columns
        per_cell = CELL_RANGE_BYTES + (PYTHON_CELL_BYTES if self.keep_rows else 0)
        self.spend(filled * CELL_READ_BYTES + rows * columns * per_cell)

    def extent(self, *, rows: int, columns: int) -> None:
        if rows > self.max_rows:
            raise _too_many_rows(self.max_rows)
        if columns > MAX_COLUMNS:
            raise _too_many_columns()
        if rows * columns + self.cells > self.limits.cells:
            raise _too_many_cells(rows, columns, self.limits.cells)

    def spend(self, amount: int) -> None:
        self.memory += amount
        if self.memory > self.limits.memory_bytes:
            raise _too_much_content(self.limits.memory_bytes)


def _string_cost(length: int) -> int:
    """Heap bytes of one string of ``length`` UTF-8 bytes, kept once in the library and,
    for a list of rows, once more in Python."""
    return STRING_BYTES + length
