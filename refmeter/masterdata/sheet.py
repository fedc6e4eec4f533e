"""The tables of the master-data loads: their columns, and reading one from a file.

Every load reads one table (the first sheet of an xlsx, xls or ods workbook, or a CSV in
UTF-8 or GB18030) through the hardened reader of ``refmeter.common.spreadsheets``, finds
its header among the top rows (title rows above it are normal) and hands each row on
with its number, so that every problem names the sheet, the row and the column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import (
    column_letter,
    find_header,
    is_csv_name,
    iter_csv_rows,
    iter_sheet_rows,
    sheet_names,
)
from refmeter.common.text import clean_digits, clean_text

MAX_ROWS = 300_000
HEADER_SCAN = 30


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the header the template and the export write
    words: tuple[str, ...] = ()  # other headers taken for it (the marketing system's words)
    required: bool = False

    @property
    def matches(self) -> tuple[str, ...]:
        return (self.label, *self.words)


@dataclass(frozen=True)
class Spec:
    """One load's table: its name on the command line, its sheet and its columns."""

    kind: str  # units, users, customers, device_types, tariffs, areas, access_points
    title: Promise  # what it is called on screen
    sheet: str  # the sheet name of the template and of the export
    columns: tuple[Column, ...]
    example: tuple[object, ...]

    @property
    def file_name(self) -> str:
        return f"{self.kind.replace('_', '-')}.xlsx"

    def label(self, key: str) -> str:
        return next(column.label for column in self.columns if column.key == key)


class UnableToLoadMasterData(Exception):
    """The file was refused; ``problems`` lists every reason, each naming its place."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems[:50]))


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Row:
    number: int  # the row's number as the spreadsheet shows it (1-based)
    values: list[object]


@dataclass
class Table:
    """A file's rows under their header, and the problems found in them."""

    spec: Spec
    sheet: str
    positions: dict[str, int]
    rows: list[Row]
    problems: list[str] = field(default_factory=list)

    def raw(self, row: Row, key: str) -> object:
        position = self.positions.get(key)
        if position is None or position >= len(row.values):
            return None
        return row.values[position]

    def problem(self, row: Row, key: str, message: str) -> None:
        self.problems.append(
            _("%(sheet)s 第 %(row)d 行 %(column)s 列（%(label)s）：%(message)s")
            % {
                "sheet": self.sheet,
                "row": row.number,
                "column": column_letter(self.positions.get(key, 0)),
                "label": self.spec.label(key),
                "message": message,
            }
        )

    def row_problem(self, row: Row, message: str) -> None:
        self.problems.append(
            _("%(sheet)s 第 %(row)d 行：") % {"sheet": self.sheet, "row": row.number} + message
        )

    # ---- typed cells; a bad value is reported and a neutral value returned

    def text(self, row: Row, key: str, *, max_length: int = 200) -> str:
        value = clean_text(self.raw(row, key))
        if not value and self._required(key):
            self.problem(row, key, _("不能为空。"))
        elif len(value) > max_length:
            self.problem(row, key, _("不能超过 %(length)d 个字符。") % {"length": max_length})
        return value

    def digits(self, row: Row, key: str) -> str:
        value = self.raw(row, key)
        if type(value) is str and value.isascii() and value.isdigit():
            return value  # already clean: most cells of a large file
        return clean_digits(value)

    def decimal(self, row: Row, key: str, *, places: int) -> Decimal | None:
        raw = self.raw(row, key)
        text = clean_text(raw).replace(",", "")
        if not text:
            if self._required(key):
                self.problem(row, key, _("不能为空。"))
            return None
        try:
            value = Decimal(str(raw) if isinstance(raw, float) else text)
        except InvalidOperation:
            self.problem(row, key, _("“%(value)s”不是数字。") % {"value": text})
            return None
        if not value.is_finite() or value <= 0:
            self.problem(row, key, _("必须大于 0。"))
            return None
        quantum = Decimal(1).scaleb(-places)
        if value != value.quantize(quantum):
            self.problem(row, key, _("最多 %(places)d 位小数。") % {"places": places})
            return None
        return value.quantize(quantum)

    def date(self, row: Row, key: str) -> dt.date | None:
        raw = self.raw(row, key)
        value = as_date(raw)
        if value is None and (self._required(key) or clean_text(raw)):
            self.problem(row, key, _("“%(value)s”不是日期。") % {"value": clean_text(raw)})
        return value

    def _required(self, key: str) -> bool:
        return any(column.required for column in self.spec.columns if column.key == key)


def as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value).replace("/", "-").replace(".", "-")
    if not text:
        return None
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


def read_table(*, spec: Spec, data: bytes, file_name: str) -> Table:
    """The file's table under its header. Refused (UnreadableSpreadsheet from the reader,
    or UnableToLoadMasterData) when it cannot be read or has no header naming every
    required column."""
    if is_csv_name(file_name):
        sheet = file_name.rsplit("/", 1)[-1]
        source = iter_csv_rows(data)
    else:
        names = sheet_names(data, max_rows=MAX_ROWS)
        sheet = spec.sheet if spec.sheet in names else (names[0] if names else spec.sheet)
        source = iter_sheet_rows(data, sheet_name=sheet, max_rows=MAX_ROWS)
    head: list[list[object]] = []
    found = None
    # Longer headers first, so that 上级编码 is not taken for 编码.
    ordered = sorted(spec.columns, key=lambda column: -max(map(len, column.matches)))
    wanted = {column.key: column.matches for column in ordered}
    required = {column.key for column in spec.columns if column.required}
    for values in source:
        head.append(values)
        found = find_header(head[-2:], wanted, required)
        if found is not None or len(head) >= HEADER_SCAN:
            break
    if found is None:
        labels = "、".join(column.label for column in spec.columns if column.required)
        raise UnableToLoadMasterData(
            [
                _("“%(sheet)s”不是%(title)s表：找不到含有这些列的表头：%(labels)s。")
                % {"sheet": sheet, "title": spec.title, "labels": labels}
            ]
        )
    start = len(head)
    rows = [
        Row(number=number, values=values)
        for number, values in enumerate(source, start=start + 1)
        if any(clean_text(value) for value in values)
    ]
    return Table(spec=spec, sheet=sheet, positions=found[1], rows=rows)
