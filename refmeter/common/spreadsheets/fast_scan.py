"""The worksheet check of ``xml_scan`` for the plain worksheets that Excel, WPS,
LibreOffice and openpyxl write, by regular expressions over each block instead of a
Python call per XML element (a 100,000-row sheet has a million cells).

It answers the same questions — formulas, declared and real extent, the bytes its
strings will take — and reaches the same verdicts, counting a little more rather than
less where the two could differ (raw text for entity-decoded text). Anything it does not
recognise as plain makes it give up, and the part is checked by the XML parser as
before: a document type, CDATA or comments, a namespace prefix on the cell elements, an
encoding other than UTF-8, a cell whose tag is not in the usual form, a shared-string
cell whose value is not an index, a row too long to hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from refmeter.common.spreadsheets.bounds import (
    MAX_COLUMNS,
    STRING_BYTES,
    _Budget,
    _formula,
    _too_many_cells,
    _too_many_columns,
    _too_many_rows,
    _too_much_content,
)
from refmeter.common.spreadsheets.xml_scan import _REF, _cell_ref, _column_number, _SharedStrings

# The longest stretch without a row end that is held before giving up.
MAX_CARRY = 8 * 1024 * 1024

_PROLOGUE = re.compile(rb"\s*<\?xml[^>]*\?>", re.ASCII)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", re.ASCII)
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
_PREFIXED = re.compile(rb"</?[A-Za-z_][\w.-]*:(?:c|v|is|t|row|sheetData|dimension)[\s/>]")
_ANY_CELL = re.compile(rb"<c[\s/>]")
# A cell in the usual form: r first, then s and t in either order, any other attribute
# (not r, not t) after; its content up to the cell's end, or none.
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"'
    rb'(?: s="[0-9]{1,6}")?(?: t="([A-Za-z]{1,9})")?(?: s="[0-9]{1,6}")?'
    rb'(?:\s+(?!(?:r|t|s)\s*=)[A-Za-z_][\w:.-]*="[^"<>]*")*\s*'
    rb"(?:/>|>(.*?)</c>)",
    re.DOTALL,
)
_SHARED_VALUE = re.compile(rb"<v>([0-9]{1,9})</v>")
_ANY_DIMENSION = re.compile(rb"<dimension[\s/>]")
_DIMENSION = re.compile(rb'<dimension ref="([A-Za-z0-9:$]{1,40})"\s*/>')
_TAG = re.compile(rb"<[^>]*>")
# The entities XML knows without a DTD; any other makes the parser refuse the part.
_ENTITY = re.compile(rb"&(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|lt|gt|amp|quot|apos);")
_TEXT_TYPES = frozenset({b"str", b"d", b"inlineStr"})


class _GiveUp(Exception):
    """Not a plain worksheet: the XML parser checks it."""


def _text_bytes(content: bytes) -> int:
    """UTF-8 bytes of the character data of some cell content, as the parser gives it:
    the raw text less its markup, line ends and entities decoded."""
    text = _TAG.sub(b"", content)
    length = len(text) - text.count(b"\r\n")
    if b"&" in text:
        entities = _ENTITY.findall(text)
        if len(entities) != text.count(b"&"):
            raise _GiveUp
        length -= sum(len(entity) - _entity_bytes(entity) for entity in entities)
    return length


def _entity_bytes(entity: bytes) -> int:
    """UTF-8 bytes of the character an entity stands for."""
    if not entity.startswith(b"&#"):
        return 1  # &lt; &gt; &amp; &quot; &apos;
    digits = entity[2:-1]
    code = int(digits[1:], 16) if digits[:1] == b"x" else int(digits)
    try:
        return len(chr(code).encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        raise _GiveUp from None  # the parser refuses it


def _utf8(first: bytes) -> bool:
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    if b"\x00" in first[:200]:
        return False  # UTF-16 or UTF-32
    prologue = _PROLOGUE.match(first)
    if prologue is None:
        return first.lstrip()[:2] not in (b"", b"<?") and first.lstrip()[:1] == b"<"
    encoding = _ENCODING.search(prologue.group(0))
    return encoding is None or encoding.group(1).lower() in (b"utf-8", b"utf8")


class FastWorksheetScan:
    """One worksheet part, as ``_WorksheetScan`` checks it; :meth:`run` is False when the
    part is not plain (nothing has been counted then)."""

    def __init__(self, budget: _Budget, shared: _SharedStrings | None) -> None:
        self.budget = budget
        self.shared = shared
        self.rows = 0
        self.columns = 0
        self.filled = 0
        self.memory = 0

    def run(self, blocks: Iterable[bytes]) -> bool:
        try:
            self._scan(blocks)
        except _GiveUp:
            return False
        self.budget.spend(self.memory)
        self.budget.sheet(rows=self.rows, columns=self.columns, filled=self.filled)
        return True

    def _scan(self, blocks: Iterable[bytes]) -> None:
        carry = b""
        first = True
        for block in blocks:
            if first:
                if not _utf8(block):
                    raise _GiveUp
                first = False
            carry += block
            cut = carry.rfind(b"</row>")
            if cut < 0:
                if len(carry) > MAX_CARRY:
                    raise _GiveUp
                continue
            cut += len(b"</row>")
            self._chunk(carry[:cut])
            carry = carry[cut:]
        self._chunk(carry)

    def _chunk(self, chunk: bytes) -> None:
        if b"<!" in chunk or _PREFIXED.search(chunk):
            raise _GiveUp
        if _FORMULA.search(chunk):
            raise _formula()
        cells = _CELL.findall(chunk)
        if len(cells) != len(_ANY_CELL.findall(chunk)):
            raise _GiveUp
        if b"<dimension" in chunk:
            found = _DIMENSION.findall(chunk)
            if len(found) != len(_ANY_DIMENSION.findall(chunk)):
                raise _GiveUp
            for ref in found:
                _declare(self.budget, ref.decode("ascii"))
        filled = [cell for cell in cells if cell[3].strip()]
        if not filled:
            return
        self.filled += len(filled)
        rows = max(map(int, (cell[1] for cell in filled)))
        columns = max(
            _column_number(letters.decode("ascii")) for letters in {cell[0] for cell in filled}
        )
        self._grow(rows, columns)
        self._strings(filled)

    def _grow(self, rows: int, columns: int) -> None:
        budget = self.budget
        if rows > self.rows:
            self.rows = rows
            if rows > budget.max_rows:
                raise _too_many_rows(budget.max_rows)
        if columns > self.columns:
            self.columns = columns
            if columns > MAX_COLUMNS:
                raise _too_many_columns()
        if self.rows * self.columns > budget.limits.cells - budget.cells:
            raise _too_many_cells(self.rows, self.columns, budget.limits.cells)

    def _strings(self, filled: list[tuple[bytes, bytes, bytes, bytes]]) -> None:
        keep = 2 if self.budget.keep_rows else 1  # the strings are copied into Python too
        shared = [cell[3] for cell in filled if cell[2] == b"s"]
        texts = [
            cell[3]
            for cell in filled
            if cell[2] in _TEXT_TYPES or (cell[2] != b"s" and b"<is" in cell[3])
        ]
        cost = 0
        if shared:
            if self.shared is None:
                raise _GiveUp  # the parser refuses it as damaged
            indexes = [
                int(match.group(1))
                for match in map(_SHARED_VALUE.fullmatch, shared)
                if match is not None
            ]
            if len(indexes) != len(shared):
                raise _GiveUp
            lengths = self.shared.lengths
            if max(indexes) >= len(lengths):
                raise _GiveUp
            total = sum(map(lengths.__getitem__, indexes))
            cost += len(shared) * STRING_BYTES + total
        if texts:
            cost += len(texts) * STRING_BYTES + _text_bytes(b"".join(texts))
        self.memory += cost * keep
        if self.budget.memory + self.memory > self.budget.limits.memory_bytes:
            raise _too_much_content(self.budget.limits.memory_bytes)


def _declare(budget: _Budget, ref: str) -> None:
    """The extent the sheet declares, as ``_WorksheetScan.declared`` checks it."""
    corner = ref.rpartition(":")[2].replace("$", "")
    if _REF.fullmatch(corner):
        rows, columns = _cell_ref(corner)
        budget.extent(rows=rows, columns=columns)
