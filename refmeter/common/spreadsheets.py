"""Reading spreadsheets people send, safely.

Accepted: .xlsx (Excel, WPS, LibreOffice), legacy .xls and .ods. Refused with a
message a clerk understands, before much memory is spent: files that are not
spreadsheets, encrypted or corrupt files, zip bombs, sheets with more rows than
allowed, and formulas where values are expected.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _

from refmeter.common.text import clean_text

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
DEFAULT_MAX_ROWS = 200_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_FORMULA_XLSX = re.compile(rb"<(?:\w+:)?f[ >/]")
_ROW_XLSX = re.compile(rb"<(?:\w+:)?row[ >]")


class UnreadableSpreadsheet(Exception):
    """The file cannot be taken; the message says why, in the user's language."""


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[list[object]]


def _refuse(message: str) -> UnreadableSpreadsheet:
    return UnreadableSpreadsheet(message)


def _not_a_spreadsheet() -> UnreadableSpreadsheet:
    return _refuse(
        _("无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。")
    )


def _scan_zip(data: bytes, *, max_rows: int) -> str:
    """Check an xlsx or ods package without unpacking it into memory; returns its kind."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        entries = package.infolist()
    except (zipfile.BadZipFile, ValueError) as error:
        raise _refuse(_("文件已损坏，无法打开：请在 Excel 或 WPS 中另存后重新上传。")) from error
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" in names:
        kind = "xlsx"
    elif "content.xml" in names and "mimetype" in names:
        kind = "ods"
    else:
        raise _not_a_spreadsheet()
    unpacked = 0
    for entry in entries:
        unpacked += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if unpacked > MAX_UNPACKED_BYTES or (
            entry.file_size > 10 * 1024 * 1024 and ratio > MAX_COMPRESSION_RATIO
        ):
            raise _refuse(_("文件解压后异常巨大（疑似压缩炸弹），已拒绝。请检查文件来源。"))
    if kind == "xlsx":
        for entry in entries:
            if not re.fullmatch(r"xl/worksheets/sheet\d+\.xml", entry.filename):
                continue
            rows = 0
            tail = b""
            with package.open(entry) as stream:
                while chunk := stream.read(1024 * 1024):
                    window = tail + chunk
                    if _FORMULA_XLSX.search(window):
                        raise _refuse(
                            _("表格中含有公式：请将公式单元格复制后“选择性粘贴为数值”，再上传。")
                        )
                    rows += len(_ROW_XLSX.findall(chunk))
                    if rows > max_rows:
                        raise _refuse(
                            _("工作表超过 %(limit)d 行，已拒绝；请拆分后分批导入。")
                            % {"limit": max_rows}
                        )
                    tail = chunk[-16:]
    else:
        with package.open("content.xml") as stream:
            tail = b""
            while chunk := stream.read(1024 * 1024):
                if b"table:formula=" in tail + chunk:
                    raise _refuse(
                        _("表格中含有公式：请将公式单元格复制后“选择性粘贴为数值”，再上传。")
                    )
                tail = chunk[-16:]
    return kind


def _scan_ole(data: bytes) -> str:
    if (
        "EncryptedPackage".encode("utf-16-le") in data
        or "EncryptionInfo".encode("utf-16-le") in data
    ):
        raise _refuse(_("文件设置了打开密码：请取消密码后重新上传。"))
    return "xls"


def plain_value(value: object) -> object:
    """Cells as people mean them: whole floats as integers, blank strings as empty."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        return text
    return value


def _open_workbook(data: bytes, *, max_rows: int) -> object:
    from python_calamine import CalamineWorkbook

    if len(data) > MAX_FILE_BYTES:
        raise _refuse(_("文件超过 50 MB，请拆分后再导入。"))
    head = data[:8]
    if head.startswith(ZIP_MAGIC):
        _scan_zip(data, max_rows=max_rows)
    elif head == OLE_MAGIC:
        _scan_ole(data)
    else:
        raise _not_a_spreadsheet()
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:
        message = str(error).lower()
        if "password" in message or "encrypt" in message:
            raise _refuse(_("文件设置了打开密码：请取消密码后重新上传。")) from error
        raise _refuse(_("文件已损坏，无法打开：请在 Excel 或 WPS 中另存后重新上传。")) from error


def _sheet(workbook: object, name: str, *, max_rows: int) -> object:
    if name not in workbook.sheet_names:  # type: ignore[attr-defined]
        raise _refuse(_("找不到工作表“%(name)s”：请使用系统导出的模板。") % {"name": name})
    try:
        sheet = workbook.get_sheet_by_name(name)  # type: ignore[attr-defined]
    except Exception as error:
        raise _refuse(_("文件已损坏，无法打开：请在 Excel 或 WPS 中另存后重新上传。")) from error
    if sheet.height > max_rows:
        raise _refuse(
            _("工作表超过 %(limit)d 行，已拒绝；请拆分后分批导入。") % {"limit": max_rows}
        )
    return sheet


def open_sheets(
    data: bytes, *, max_rows: int = DEFAULT_MAX_ROWS, sheet_names: list[str] | None = None
) -> list[Sheet]:
    """The sheets of a workbook (the first, or those named), each as rows of plain values."""
    workbook = _open_workbook(data, max_rows=max_rows)
    wanted = sheet_names if sheet_names is not None else workbook.sheet_names[:1]  # type: ignore[attr-defined]
    sheets = []
    for name in wanted:
        sheet = _sheet(workbook, name, max_rows=max_rows)
        rows = [[plain_value(cell) for cell in row] for row in sheet.iter_rows()]  # type: ignore[attr-defined]
        sheets.append(Sheet(name=name, rows=rows))
    return sheets


def sheet_names(data: bytes, *, max_rows: int = DEFAULT_MAX_ROWS) -> list[str]:
    return list(_open_workbook(data, max_rows=max_rows).sheet_names)  # type: ignore[attr-defined]


def iter_sheet_rows(
    data: bytes, *, sheet_name: str, max_rows: int = DEFAULT_MAX_ROWS
) -> Iterator[list[object]]:
    """One sheet's rows, one at a time, for lists too large to hold as Python objects."""
    workbook = _open_workbook(data, max_rows=max_rows)
    sheet = _sheet(workbook, sheet_name, max_rows=max_rows)
    for row in sheet.iter_rows():  # type: ignore[attr-defined]
        yield [plain_value(cell) for cell in row]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def find_header(
    rows: list[list[object]],
    wanted: dict[str, tuple[str, ...]],
    required: set[str],
    *,
    scan: int = 30,
) -> tuple[int, dict[str, int]] | None:
    """The first row among the top ``scan`` rows naming every required column.

    A header cell matches a key when its text (spaces removed) contains one of the
    key's words, so "就近户号/局号（或杆号/箱号）" matches "就近户号". Headers of two
    rows with merged cells are read together: a blank cell takes the text above it.
    """
    previous: list[str] = []
    for index, row in enumerate(rows[:scan]):
        own = [clean_text(cell).replace(" ", "") for cell in row]
        texts = [
            text or (previous[position] if position < len(previous) else "")
            for position, text in enumerate(own)
        ]
        texts += previous[len(own) :]
        columns: dict[str, int] = {}
        for key, words in wanted.items():
            for position, text in enumerate(texts):
                taken = position in columns.values()
                if text and not taken and any(word in text for word in words):
                    columns[key] = position
                    break
        if required <= columns.keys():
            return index, columns
        previous = own
    return None


def read_rows(
    source: str | Path | IO[bytes], *, max_rows: int = DEFAULT_MAX_ROWS
) -> list[list[object]]:
    """All rows of the first sheet of a file or an open binary stream."""
    try:
        data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
    except OSError as error:
        raise _refuse(_("无法读取文件：%(reason)s") % {"reason": error.strerror}) from error
    return open_sheets(data, max_rows=max_rows)[0].rows
