"""Legacy .xls: scanning the BIFF records before the workbook is opened."""

from __future__ import annotations

import struct
from array import array
from typing import IO

from refmeter.common.spreadsheets.bounds import (
    _Budget,
    _corrupt,
    _formula,
    _not_a_spreadsheet,
    _password,
    _string_cost,
)

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
