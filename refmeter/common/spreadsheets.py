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

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import os
import re
import struct
import threading
import zipfile
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO, Any, TypeAlias, cast
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _

from refmeter.common.text import clean_text

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


# ---------------------------------------------------------------- sources


@contextmanager
def _binary(source: Source) -> Iterator[IO[bytes]]:
    """The source as a seekable binary stream at its start; a path is opened and closed
    here, a stream given by the caller is left open."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
        return
    if isinstance(source, str | os.PathLike):
        try:
            opened: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as error:
            raise _refuse(_("无法读取文件：%(reason)s") % {"reason": error.strerror}) from error
        with opened:
            yield opened
        return
    given = cast(IO[bytes], source)
    given.seek(0)
    yield given


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def spreadsheet_bytes(source: Source) -> bytes:
    """The whole file, for readers that want bytes: its size is checked before reading."""
    with _binary(source) as stream:
        limit = limits().spreadsheet_bytes
        if _size(stream) > limit:
            raise _too_big(limit)
        return stream.read()


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


# ---------------------------------------------------------------- XML, without DTDs


class _Stop(Exception):
    """Parsing stops early on purpose (the root element told what the part is)."""


def _parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def refuse_doctype(*_args: Any) -> None:
        raise _doctype()

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _local(name: str, cache: dict[str, str]) -> str:
    local = cache.get(name)
    if local is None:
        local = cache[name] = name.rpartition(":")[2]
    return local


_COLUMNS: dict[str, int] = {}
_REF = re.compile(r"([A-Za-z]{1,4})([0-9]{1,9})")


def _column_number(letters: str) -> int:
    number = _COLUMNS.get(letters)
    if number is None:
        number = 0
        for letter in letters.upper():
            number = number * 26 + ord(letter) - 64
        if len(_COLUMNS) < 20_000:
            _COLUMNS[letters] = number
    return number


def _cell_ref(ref: str) -> tuple[int, int]:
    """(row, column), both from 1, of a reference such as ``AB12``."""
    match = _REF.fullmatch(ref)
    if match is None:
        raise _corrupt()
    return int(match.group(2)), _column_number(match.group(1))


class _SharedStrings:
    """The lengths of the workbook's shared strings, read from xl/sharedStrings.xml."""

    def __init__(self, budget: _Budget) -> None:
        self.lengths = array("L")
        self.budget = budget
        self.current = 0
        self.depth = 0
        self.names: dict[str, str] = {}

    def handlers(self, parser: expat.XMLParserType) -> None:
        def start(name: str, _attrs: dict[str, str]) -> None:
            local = _local(name, self.names)
            if local == "si":
                self.current = 0
            elif local == "t":
                parser.CharacterDataHandler = text

        def end(name: str) -> None:
            local = _local(name, self.names)
            if local == "t":
                parser.CharacterDataHandler = None
            elif local == "si":
                self.lengths.append(self.current)
                self.budget.spend(_string_cost(self.current))

        def text(data: str) -> None:
            self.current += len(data.encode())

        parser.StartElementHandler = start
        parser.EndElementHandler = end

    def length(self, index_text: str) -> int:
        text = index_text.strip()
        if not text.isdigit() or int(text) >= len(self.lengths):
            raise _corrupt()
        return int(self.lengths[int(text)])


class _WorksheetScan:
    """One xlsx worksheet: its declared extent, its real extent, formulas and text."""

    def __init__(self, budget: _Budget, shared: _SharedStrings | None) -> None:
        self.budget = budget
        self.shared = shared
        self.names: dict[str, str] = {}
        self.row = 0
        self.column = 0
        self.cell_row = 0
        self.cell_type = "n"
        self.counted = True
        self.rows = 0
        self.columns = 0
        self.filled = 0
        self.text: list[str] = []
        self.collecting = ""

    def handlers(self, parser: expat.XMLParserType) -> None:
        budget = self.budget
        keep = PYTHON_CELL_BYTES if budget.keep_rows else 0
        cells_left = budget.limits.cells - budget.cells
        max_rows = budget.max_rows

        def collect(data: str) -> None:
            self.text.append(data)

        def fill() -> None:
            # The cell has a value: it is read, and widens the sheet's rectangle.
            self.counted = True
            self.filled += 1
            grew = False
            if self.cell_row > self.rows:
                self.rows = self.cell_row
                grew = True
                if self.rows > max_rows:
                    raise _too_many_rows(max_rows)
            if self.column > self.columns:
                self.columns = self.column
                grew = True
                if self.columns > MAX_COLUMNS:
                    raise _too_many_columns()
            if grew and self.rows * self.columns > cells_left:
                raise _too_many_cells(self.rows, self.columns, budget.limits.cells)

        def start(name: str, attrs: dict[str, str]) -> None:
            local = self.names.get(name) or _local(name, self.names)
            if local == "c":
                ref = attrs.get("r")
                if ref:
                    self.cell_row, self.column = _cell_ref(ref)
                else:
                    self.cell_row, self.column = max(self.row, 1), self.column + 1
                self.cell_type = attrs.get("t", "n")
                self.counted = False
            elif local == "v":
                if not self.counted:
                    fill()
                if self.cell_type in ("s", "str", "d", "inlineStr"):
                    self.collecting = "v"
                    self.text = []
                    parser.CharacterDataHandler = collect
            elif local == "is":
                if not self.counted:
                    fill()
                self.collecting = "is"
                self.text = []
                parser.CharacterDataHandler = collect
            elif local == "f":
                raise _formula()
            elif local == "row":
                ref = attrs.get("r")
                if ref is None:
                    self.row += 1
                elif ref.isdigit() and len(ref) < 10:
                    self.row = int(ref)
                else:
                    raise _corrupt()
                self.column = 0
            elif local == "dimension":
                self.declared(attrs.get("ref", ""))

        def end(name: str) -> None:
            local = self.names.get(name) or _local(name, self.names)
            if local != self.collecting:
                return
            parser.CharacterDataHandler = None
            self.collecting = ""
            text = "".join(self.text)
            if local == "v" and self.cell_type == "s":
                if self.shared is None:
                    raise _corrupt()
                length = self.shared.length(text)
            else:
                length = len(text.encode())
            cost = _string_cost(length) * (2 if keep else 1)
            budget.spend(cost)

        parser.StartElementHandler = start
        parser.EndElementHandler = end

    def declared(self, ref: str) -> None:
        corner = ref.rpartition(":")[2].replace("$", "")
        if _REF.fullmatch(corner):
            rows, columns = _cell_ref(corner)
            self.budget.extent(rows=rows, columns=columns)

    def finish(self) -> None:
        self.budget.sheet(rows=self.rows, columns=self.columns, filled=self.filled)


class _OdsScan:
    """content.xml of an OpenDocument spreadsheet: every table's extent, with repeats."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        self.names: dict[str, str] = {}
        self.reset()

    def reset(self) -> None:
        self.row = 0
        self.column = 0
        self.rows_repeated = 1
        self.rows = 0
        self.columns = 0
        self.filled = 0
        self.in_cell = False
        self.cell_repeated = 1
        self.cell_filled = False
        self.cell_text = 0

    def handlers(self, parser: expat.XMLParserType) -> None:
        def attribute(attrs: dict[str, str], wanted: str) -> str | None:
            for key, value in attrs.items():
                if _local(key, self.names) == wanted:
                    return value
            return None

        def repeated(attrs: dict[str, str], wanted: str) -> int:
            value = attribute(attrs, wanted)
            if value is None:
                return 1
            if not value.isdigit() or len(value) > 9:
                raise _corrupt()
            return max(int(value), 1)

        def text(data: str) -> None:
            self.cell_text += len(data.encode())
            self.cell_filled = True

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name, self.names)
            if local == "table":
                self.reset()
            elif local == "table-row":
                self.rows_repeated = repeated(attrs, "number-rows-repeated")
                self.column = 0
            elif local in ("table-cell", "covered-table-cell"):
                if attribute(attrs, "formula") is not None:
                    raise _formula()
                self.in_cell = True
                self.cell_repeated = repeated(attrs, "number-columns-repeated")
                self.cell_filled = attribute(attrs, "value-type") is not None
                self.cell_text = 0
                parser.CharacterDataHandler = text
            elif self.in_cell:
                self.cell_filled = True
                if local == "s":  # <text:s text:c="N"/>: N spaces
                    self.cell_text += repeated(attrs, "c")

        def end(name: str) -> None:
            local = _local(name, self.names)
            if local in ("table-cell", "covered-table-cell"):
                parser.CharacterDataHandler = None
                self.in_cell = False
                self.close_cell()
                self.column += self.cell_repeated
            elif local == "table-row":
                self.row += self.rows_repeated
                self.rows_repeated = 1
            elif local == "table":
                self.finish()

        parser.StartElementHandler = start
        parser.EndElementHandler = end

    def close_cell(self) -> None:
        if not self.cell_filled:
            return
        copies = self.cell_repeated * self.rows_repeated
        self.rows = max(self.rows, self.row + self.rows_repeated)
        self.columns = max(self.columns, self.column + self.cell_repeated)
        self.budget.extent(rows=self.rows, columns=self.columns)
        self.filled += copies
        if self.cell_text:
            keep = 2 if self.budget.keep_rows else 1
            cost = _string_cost(self.cell_text) * keep * copies
            self.budget.spend(cost)

    def finish(self) -> None:
        self.budget.sheet(rows=self.rows, columns=self.columns, filled=self.filled)
        self.reset()


# ---------------------------------------------------------------- zip packages

_UNSAFE_NAME = re.compile(r"(^[/\\])|(^[A-Za-z]:)|\\|(^|/)\.\.(/|$)|[\x00-\x1f]")


def _inflate(stream: IO[bytes], entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes, a block at a time, from its raw data: never more than the
    directory declares, and its end, size and CRC checked against the directory."""
    stream.seek(entry.header_offset)
    header = stream.read(30)
    if len(header) != 30 or header[:4] != ZIP_MAGIC:
        raise _corrupt()
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    stream.seek(entry.header_offset + 30 + name_length + extra_length)
    remaining = entry.compress_size
    produced = 0
    crc = 0
    if entry.compress_type == zipfile.ZIP_STORED:
        while remaining:
            block = stream.read(min(remaining, MB))
            if not block:
                raise _corrupt()
            remaining -= len(block)
            produced += len(block)
            crc = zlib.crc32(block, crc)
            yield block
    else:
        inflater = zlib.decompressobj(-15)
        while not inflater.eof:
            if inflater.unconsumed_tail:
                raw = inflater.unconsumed_tail
            elif remaining:
                raw = stream.read(min(remaining, 256 * 1024))
                if not raw:
                    raise _corrupt()
                remaining -= len(raw)
            else:
                raw = b""
            try:
                block = inflater.decompress(raw, MB)
            except zlib.error as error:
                raise _corrupt() from error
            if not block and not raw:
                break  # the data ended before the stream did
            produced += len(block)
            if produced > entry.file_size:
                raise _lying()
            if block:
                crc = zlib.crc32(block, crc)
                yield block
        if not inflater.eof:
            raise _lying() if produced == entry.file_size else _corrupt()
    if produced != entry.file_size:
        raise _lying()
    if crc != entry.CRC:
        raise _corrupt()


def _looks_like_xml(head: bytes) -> bool:
    text = head.lstrip(b" \t\r\n")
    return text.startswith((b"<", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _parse(
    parser: expat.XMLParserType, blocks: Iterator[bytes], first: bytes, *, lenient: bool
) -> None:
    try:
        parser.Parse(first, False)
        for block in blocks:
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        if not lenient:
            raise _corrupt() from error


def _scan_zip(stream: IO[bytes], budget: _Budget) -> str:
    """Check an xlsx or ods package member by member; returns its kind."""
    try:
        package = zipfile.ZipFile(stream)
        entries = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as error:
        raise _corrupt() from error
    if len(entries) > MAX_MEMBERS:
        raise _refuse(
            _("文件内部条目过多（超过 %(limit)d 个），不像电子表格，已拒绝。")
            % {"limit": MAX_MEMBERS}
        )
    seen: set[str] = set()
    unpacked = 0
    for entry in entries:
        if _UNSAFE_NAME.search(entry.filename):
            raise _refuse(
                _("文件内部含有不安全的路径“%(name)s”，已拒绝。") % {"name": entry.filename[:100]}
            )
        folded = entry.filename.lower()
        if folded in seen:
            raise _refuse(
                _("文件内部有两个同名条目“%(name)s”，已拒绝。") % {"name": entry.filename[:100]}
            )
        seen.add(folded)
        if entry.flag_bits & 0x1:
            raise _password()
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _corrupt()
        unpacked += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if unpacked > MAX_UNPACKED_BYTES or (
            entry.file_size > MB and ratio > MAX_COMPRESSION_RATIO
        ):
            raise _bomb()
    if "xl/workbook.xml" in seen:
        kind = "xlsx"
    elif "content.xml" in seen and "mimetype" in seen:
        kind = "ods"
    else:
        raise _not_a_spreadsheet()

    # Every member is inflated here; XML parts are parsed. Sheets wait until the shared
    # strings are known, so each string cell can be costed as the library would copy it.
    shared = _SharedStrings(budget)
    sheets: list[tuple[zipfile.ZipInfo, str]] = []
    for entry in entries:
        if entry.is_dir():
            continue
        blocks = _inflate(stream, entry)
        first = next(blocks, b"")
        if not _looks_like_xml(first[:64]):
            for _block in blocks:  # inflated to its end: its size and CRC are checked
                pass
            continue
        parser = _parser()

        def root(
            name: str,
            _attrs: dict[str, str],
            entry: zipfile.ZipInfo = entry,
            parser: expat.XMLParserType = parser,
        ) -> None:
            local = name.rpartition(":")[2]
            if local in SHEET_ROOTS or local == "document-content":
                sheets.append((entry, local))
                raise _Stop  # checked below, once the shared strings are known
            if local == "sst":
                shared.handlers(parser)
            else:
                parser.StartElementHandler = None

        parser.StartElementHandler = root
        with suppress(_Stop):
            _parse(parser, blocks, first, lenient=entry.filename.lower().endswith(".vml"))
    for entry, kind_of_part in sheets:
        parser = _parser()
        scan: _WorksheetScan | _OdsScan
        if kind_of_part == "document-content":
            scan = _OdsScan(budget)
        else:
            scan = _WorksheetScan(budget, shared if shared.lengths else None)
        scan.handlers(parser)
        _parse(parser, _inflate(stream, entry), b"", lenient=False)
        if isinstance(scan, _WorksheetScan):
            scan.finish()
    return kind


# ---------------------------------------------------------------- legacy .xls

_CELLS = {0x0203, 0x027E, 0x0205, 0x00FD, 0x0204, 0x00D6}
_FORMULAS = {0x0006, 0x0206, 0x0406}


def _sst_lengths(segments: list[bytes]) -> array[int]:
    """The character count of every string of a BIFF8 SST record and its CONTINUEs."""
    lengths = array("L")
    if not segments or len(segments[0]) < 8:
        return lengths
    wanted = struct.unpack_from("<I", segments[0], 4)[0]
    index, position = 0, 8

    def take(count: int) -> None:
        nonlocal index, position
        while count:
            if index >= len(segments):
                raise IndexError
            step = min(count, len(segments[index]) - position)
            position += step
            count -= step
            if count:
                index, position = index + 1, 0

    try:
        while len(lengths) < wanted:
            if position >= len(segments[index]):
                index, position = index + 1, 0
            segment = segments[index]
            characters, flags = struct.unpack_from("<HB", segment, position)
            position += 3
            runs = extended = 0
            if flags & 0x8:
                runs = struct.unpack_from("<H", segment, position)[0]
                position += 2
            if flags & 0x4:
                extended = struct.unpack_from("<I", segment, position)[0]
                position += 4
            left, wide = characters, flags & 0x1
            while left:
                room = (len(segments[index]) - position) // (2 if wide else 1)
                step = min(left, room)
                position += step * (2 if wide else 1)
                left -= step
                if left:  # the characters go on in the next CONTINUE, after a flags byte
                    index += 1
                    wide = segments[index][0] & 0x1
                    position = 1
            take(4 * runs + extended)
            lengths.append(characters)
    except (IndexError, struct.error):
        pass  # a short table: strings past it cost nothing to read
    return lengths


def _scan_xls(stream: IO[bytes], budget: _Budget) -> str:
    import olefile

    try:
        ole = olefile.OleFileIO(stream)
    except Exception as error:  # olefile raises many kinds on a broken file
        raise _corrupt() from error
    try:
        if ole.exists("EncryptedPackage") or ole.exists("EncryptionInfo"):
            raise _password()
        name = next((name for name in ("Workbook", "Book") if ole.exists(name)), None)
        if name is None:
            raise _not_a_spreadsheet()
        try:
            data = ole.openstream(name).read()
        except Exception as error:
            raise _corrupt() from error
    finally:
        ole.close()
    _scan_biff(data, budget)
    return "xls"


def _scan_biff(data: bytes, budget: _Budget) -> None:
    lengths = array("L")
    sst: list[bytes] | None = None
    sheet: dict[str, int] | None = None
    position = 0
    keep = 2 if budget.keep_rows else 1
    while position + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, position)
        record = data[position + 4 : position + 4 + length]
        position += 4 + length
        if sst is not None and kind != 0x003C:
            lengths = _sst_lengths(sst)
            budget.spend(sum(_string_cost(3 * count) for count in lengths))
            sst = None
        if kind == 0x002F:
            raise _password()
        if kind == 0x00FC:
            sst = [record]
        elif kind == 0x003C and sst is not None:
            sst.append(record)
        elif kind == 0x0809:
            substream = struct.unpack_from("<H", record, 2)[0] if len(record) >= 4 else 0
            sheet = {"rows": 0, "columns": 0, "filled": 0} if substream == 0x0010 else None
        elif sheet is None:
            continue
        elif kind == 0x000A:  # EOF of the sheet
            budget.sheet(rows=sheet["rows"], columns=sheet["columns"], filled=sheet["filled"])
            sheet = None
        elif kind in _FORMULAS:
            raise _formula()
        elif kind == 0x0200 and len(record) >= 12:
            rows, columns = (
                struct.unpack_from("<I", record, 4)[0],
                struct.unpack_from("<H", record, 10)[0],
            )
            budget.extent(rows=rows, columns=columns)
        elif (kind in _CELLS or kind == 0x00BD) and len(record) >= 6:
            row, column = struct.unpack_from("<HH", record)
            last = column
            if kind == 0x00BD:  # MULRK: a run of numbers
                last = struct.unpack_from("<H", record, len(record) - 2)[0]
            count = max(last - column + 1, 1)
            sheet["filled"] += count
            sheet["rows"] = max(sheet["rows"], row + 1)
            sheet["columns"] = max(sheet["columns"], last + 1)
            budget.extent(rows=sheet["rows"], columns=sheet["columns"])
            text = 0
            if kind == 0x00FD and len(record) >= 10:
                index = struct.unpack_from("<I", record, 6)[0]
                text = 3 * lengths[index] if index < len(lengths) else 0
            elif kind in (0x0204, 0x00D6) and len(record) >= 8:
                text = 3 * struct.unpack_from("<H", record, 6)[0]
            if kind in (0x00FD, 0x0204, 0x00D6):
                budget.spend(_string_cost(text) * keep)


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


# ---------------------------------------------------------------- CSV

CSV_SAMPLE_BYTES = 64 * 1024


def _csv_encoding(head: bytes) -> str:
    """The encoding of a CSV, from its start: a byte-order mark says it; without one,
    UTF-8 if the start is UTF-8, else GB18030 (which GBK and GB2312 are part of)."""
    for mark, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(mark):
            return encoding
    if b"\0" in head:
        raise _refuse(
            _(
                "文件含有空字符（可能是不带签名的 UTF-16 或二进制文件）：请将 CSV 另存为 UTF-8 "
                "编码后重新上传。"
            )
        )
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise _refuse(
        _("无法识别文件的文字编码：请将 CSV 另存为 UTF-8 或 GB18030（GBK）编码后重新上传。")
    )


def _csv_lines(stream: IO[bytes], encoding: str, counter: list[int]) -> Iterator[str]:
    """Decoded lines, each checked for length and for its encoding; ``counter[0]`` is the
    number of the line last read."""
    if encoding in ("utf-8", "utf-8-sig", "gb18030"):
        # Line breaks are single bytes in these encodings, so a line is split before it
        # is decoded, and a decoding error names its own line.
        first = True
        while line := stream.readline(MAX_CSV_LINE_BYTES + 1):
            counter[0] += 1
            if len(line) > MAX_CSV_LINE_BYTES and not line.endswith(b"\n"):
                raise _long_line(counter[0])
            if first and encoding == "utf-8-sig":
                line = line.removeprefix(codecs.BOM_UTF8)
            first = False
            try:
                yield line.decode(encoding if encoding != "utf-8-sig" else "utf-8")
            except UnicodeDecodeError as error:
                raise _refuse(
                    _(
                        "第 %(line)d 行含有无法按 %(encoding)s 解码的字符：文件的编码前后不一，"
                        "请将 CSV 另存为 UTF-8 编码后重新上传。"
                    )
                    % {"line": counter[0], "encoding": "UTF-8" if "utf" in encoding else "GB18030"}
                ) from error
        return
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        while True:
            try:
                decoded = text.readline(MAX_CSV_LINE_BYTES + 1)
            except UnicodeDecodeError as error:
                raise _refuse(
                    _("第 %(line)d 行附近含有无法按 %(encoding)s 解码的字符：文件已损坏。")
                    % {"line": counter[0] + 1, "encoding": encoding.upper()}
                ) from error
            if not decoded:
                return
            counter[0] += 1
            if len(decoded) > MAX_CSV_LINE_BYTES and not decoded.endswith("\n"):
                raise _long_line(counter[0])
            yield decoded
    finally:
        text.detach()  # the caller's stream stays open


def _long_line(number: int) -> UnreadableSpreadsheet:
    return _refuse(
        _("第 %(line)d 行超过 %(limit)d 个字符，已拒绝：请检查文件是否为逐行的 CSV 数据。")
        % {"line": number, "limit": MAX_CSV_LINE_BYTES}
    )


def iter_csv_rows(source: Source) -> Iterator[list[object]]:
    """The rows of a CSV file, read a line at a time (memory does not grow with the file).
    Commas or tabs (Excel's "Unicode text") separate the fields."""
    with _binary(source) as stream:
        limit = limits().upload_bytes
        if _size(stream) > limit:
            raise _too_big(limit)
        encoding = _csv_encoding(stream.read(CSV_SAMPLE_BYTES))
        stream.seek(0)
        counter = [0]
        lines = _csv_lines(stream, encoding, counter)
        first = next(lines, "")
        delimiter = "\t" if "\t" in first and "," not in first else ","
        reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
        try:
            for row in reader:
                yield cast(list[object], row)
        except csv.Error as error:
            raise _refuse(
                _("CSV 格式错误（第 %(line)d 行附近）：请检查引号是否成对。") % {"line": counter[0]}
            ) from error


# ---------------------------------------------------------------- headers


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
