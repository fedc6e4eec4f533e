"""Scanning a package's XML, without DTDs: shared strings, worksheets, ODS content."""

from __future__ import annotations

import re
from array import array
from typing import Any
from xml.parsers import expat

from refmeter.common.spreadsheets.bounds import (
    MAX_COLUMNS,
    PYTHON_CELL_BYTES,
    _Budget,
    _corrupt,
    _doctype,
    _formula,
    _string_cost,
    _too_many_cells,
    _too_many_columns,
    _too_many_rows,
)

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
