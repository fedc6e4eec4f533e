"""Checking a workbook, then opening it and reading its sheets' rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import IO, Any

from django.utils.translation import gettext as _

from refmeter.common.spreadsheets.bounds import (
    DEFAULT_MAX_ROWS,
    MB,
    OLE_MAGIC,
    ZIP_MAGIC,
    Sheet,
    Source,
    UnreadableSpreadsheet,
    _Budget,
    _corrupt,
    _not_a_spreadsheet,
    _password,
    _refuse,
    _too_big,
    limits,
)
from refmeter.common.spreadsheets.sources import _binary, _size
from refmeter.common.spreadsheets.xls import _scan_xls
from refmeter.common.spreadsheets.zip_packages import _scan_zip

# ---------------------------------------------------------------- checking, then opening

_CHECKED: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_CHECKED_LOCK = threading.Lock()


def _check(stream: IO[bytes], *, max_rows: int, keep_rows: bool) -> str:
    """Refuse the file unless it is a spreadsheet that can be read within the limits;
    returns its kind. The verdict on the same bytes is remembered for a while, since
    some imports open one workbook several times."""
    limit = limits()
    size = _size(stream)
    if size > limit.spreadsheet_bytes:
        raise _too_big(limit.spreadsheet_bytes)
    digest = hashlib.blake2b(digest_size=20)
    while block := stream.read(MB):
        digest.update(block)
    stream.seek(0)
    key = (digest.digest(), size, max_rows, keep_rows, limit)
    with _CHECKED_LOCK:
        known = _CHECKED.get(key)
    if known is not None:
        return known
    head = stream.read(8)
    stream.seek(0)
    budget = _Budget(max_rows=max_rows, limits=limit, keep_rows=keep_rows)
    if head.startswith(ZIP_MAGIC):
        kind = _scan_zip(stream, budget)
    elif head == OLE_MAGIC:
        kind = _scan_xls(stream, budget)
    else:
        raise _not_a_spreadsheet()
    stream.seek(0)
    with _CHECKED_LOCK:
        _CHECKED[key] = kind
        while len(_CHECKED) > 16:
            _CHECKED.popitem(last=False)
    return kind


def _open_workbook(stream: IO[bytes], *, max_rows: int, keep_rows: bool) -> Any:
    from python_calamine import CalamineWorkbook

    _check(stream, max_rows=max_rows, keep_rows=keep_rows)
    try:
        return CalamineWorkbook.from_filelike(stream)
    except Exception as error:
        message = str(error).lower()
        if "password" in message or "encrypt" in message:
            raise _password() from error
        raise _corrupt() from error


def _sheet(workbook: Any, name: str | None) -> Any:
    names = workbook.sheet_names
    if name is None:
        if not names:
            raise _corrupt()
        name = names[0]
    if name not in names:
        raise _refuse(_("找不到工作表“%(name)s”：请使用系统导出的模板。") % {"name": name})
    try:
        return workbook.get_sheet_by_name(name)
    except Exception as error:
        raise _corrupt() from error


def _rows(sheet: Any) -> Iterator[list[object]]:
    try:
        for row in sheet.iter_rows():
            yield [plain_value(cell) for cell in row]
    except UnreadableSpreadsheet:
        raise
    except Exception as error:
        raise _corrupt() from error


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


def open_sheets(
    source: Source, *, max_rows: int = DEFAULT_MAX_ROWS, sheet_names: list[str] | None = None
) -> list[Sheet]:
    """The sheets of a workbook (the first, or those named), each as rows of plain values.
    ``source`` is the file's bytes, its path, or an open binary file."""
    with _binary(source) as stream:
        workbook = _open_workbook(stream, max_rows=max_rows, keep_rows=True)
        wanted = sheet_names if sheet_names is not None else workbook.sheet_names[:1]
        sheets = []
        for name in wanted:
            sheets.append(Sheet(name=name, rows=list(_rows(_sheet(workbook, name)))))
        return sheets


def sheet_names(source: Source, *, max_rows: int = DEFAULT_MAX_ROWS) -> list[str]:
    with _binary(source) as stream:
        return list(_open_workbook(stream, max_rows=max_rows, keep_rows=False).sheet_names)


def iter_sheet_rows(
    source: Source, *, sheet_name: str | None = None, max_rows: int = DEFAULT_MAX_ROWS
) -> Iterator[list[object]]:
    """One sheet's rows (the first sheet's, unless named), one at a time, for lists too
    large to hold as Python objects."""
    with _binary(source) as stream:
        workbook = _open_workbook(stream, max_rows=max_rows, keep_rows=False)
        yield from _rows(_sheet(workbook, sheet_name))


def read_rows(source: Source, *, max_rows: int = DEFAULT_MAX_ROWS) -> list[list[object]]:
    """All rows of the first sheet of a file (bytes, a path or an open binary stream)."""
    return open_sheets(source, max_rows=max_rows)[0].rows
