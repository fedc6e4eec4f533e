"""Importing a file of readings; on PostgreSQL a regular CSV is copied in whole and checked
by SQL.

A collection system's export is millions of lines of the same shape. Parsing and checking
each in Python cost more than everything the database does with them, so on PostgreSQL a
CSV in UTF-8 or GB18030 goes, after its header, straight into a temporary table of text
columns by COPY, and one statement asks whether every row is plainly regular: digits for
the meter, a ``YYYY-MM-DD`` date not in the future, registers of at most 12 digits and two
decimals, a meter of a group the user may import for. Such rows are exactly those that the
row-by-row check (rows.py) accepts unchanged, so they are cast and staged by SQL and merged
as ever. A file with anything else in it — a problem, a full-width digit, a blank line, a
``2026/1/5``, a third decimal, a ragged row, another encoding — is read again from the
start by the row-by-row check, which names each problem and does the folding; only then is
anything said to the user.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from typing import IO

import psycopg
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import find_header, is_csv_name, limits
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.readings.services.rows import (
    COLUMNS,
    TOU,
    Progress,
    ReadingsImportResult,
    Stage,
    readings_import,
    rows_from_file,
    staged_merge,
)
from refmeter.registry.models import Group

RAW_STAGE = "reading_raw_stage"
HEAD_BYTES = 64 * 1024  # the header is within the first 20 lines of this
CHUNK_BYTES = 1024 * 1024
# Longer cells are never regular (a meter number has 32 characters at most).
MAX_REGULAR_CELL = 64
# PostgreSQL's names of the encodings COPY reads; others go row by row.
COPY_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}
NUMBER = "^[0-9]{1,12}([.][0-9]{1,2})?$"
__all__ = ["readings_import_file"]


def readings_import_file(
    *,
    actor: User | None,
    data: IO[bytes],
    file_name: str,
    today: dt.date,
    now: dt.datetime,
    progress: Progress = lambda done, message: None,
) -> ReadingsImportResult:
    """Import a file of readings (``data`` open, binary and seekable); ``actor`` None is the
    operator at the command line. Whatever the way, the same checks, messages and result."""
    if actor is not None:
        require(user=actor, action=Action.IMPORT_READINGS)
    if connection.vendor == "postgresql" and is_csv_name(file_name):
        copied = _copied_import(
            actor=actor, data=data, file_name=file_name, today=today, now=now, progress=progress
        )
        if copied is not None:
            return copied
        data.seek(0)
    return readings_import(
        actor=actor, rows=rows_from_file(data, file_name), file_name=file_name, today=today,
        now=now, progress=progress,
    )  # fmt: skip


def _copied_import(
    *,
    actor: User | None,
    data: IO[bytes],
    file_name: str,
    today: dt.date,
    now: dt.datetime,
    progress: Progress,
) -> ReadingsImportResult | None:
    """The import by COPY, or None (nothing written) when the file is not plainly regular."""
    if data.seek(0, 2) > limits().upload_bytes:
        return None  # refused by the row-by-row reader, with its message
    data.seek(0)
    layout = _layout(data.read(HEAD_BYTES))
    if layout is None:
        return None
    encoding, delimiter, header_rows, offset, columns = layout
    scope = _visible_groups(actor)
    if scope is None:
        return None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {RAW_STAGE}")
                cells = ", ".join(f"c{index} text" for index in range(columns["width"]))
                cursor.execute(
                    f"CREATE TEMP TABLE {RAW_STAGE} (line bigint GENERATED ALWAYS AS IDENTITY, "
                    f"{cells}) ON COMMIT DROP"
                )
            data.seek(offset)
            raw = connection.connection.cursor()
            names = ", ".join(f"c{index}" for index in range(columns["width"]))
            delimiter_sql = "E'\\t'" if delimiter == "\t" else "','"
            with raw.copy(
                f"COPY {RAW_STAGE} ({names}) FROM STDIN WITH (FORMAT csv, "
                f"DELIMITER {delimiter_sql}, ENCODING '{encoding}')"
            ) as copy:
                while chunk := data.read(CHUNK_BYTES):
                    copy.write(chunk)
            total, irregular = _check(columns=columns, scope=scope, today=today)
            if total == 0 or irregular:
                raise _NotRegular
            progress(total, _("读取并检查"))
            stage = Stage()
            stage.create()
            # A well-formed but impossible date (2026-02-30) fails its cast here, and the
            # row-by-row check names it.
            _stage_rows(columns=columns, scope=scope, first_row=header_rows)
            return staged_merge(
                stage=stage, total=total, actor=actor, file_name=file_name, now=now,
                progress=progress,
            )  # fmt: skip
    except (_NotRegular, DatabaseError, psycopg.Error):
        # COPY refused the file (ragged rows, bad encoding, a NUL) or a row is not plain:
        # the row-by-row check reads it again and says what is wrong, or folds what it can.
        return None


class _NotRegular(Exception):
    pass


def _layout(head: bytes) -> tuple[str, str, int, int, dict[str, int]] | None:
    """Encoding, delimiter, header rows, the byte offset of the first data line and the
    columns, when the file's start allows the copy."""
    from refmeter.common.spreadsheets.csv_files import _csv_encoding

    try:
        encoding = _csv_encoding(head)
    except Exception:  # an unreadable start: the row-by-row reader says why
        return None
    if encoding not in COPY_ENCODINGS:
        return None
    lines = head.split(b"\n")[:20]
    text_lines = []
    for piece in lines[:-1]:  # the last piece may be cut anywhere
        try:
            text_lines.append(piece.decode(encoding if encoding != "utf-8-sig" else "utf-8"))
        except UnicodeDecodeError:
            return None
    if text_lines and encoding == "utf-8-sig":
        text_lines[0] = text_lines[0].removeprefix(codecs.BOM_UTF8.decode())
    first = text_lines[0] if text_lines else ""
    delimiter = "\t" if "\t" in first and "," not in first else ","
    rows: list[list[object]] = []
    for line in text_lines:
        parsed = list(csv.reader([line], delimiter=delimiter))
        if len(parsed) != 1 or '"' in line:
            return None  # a quoted field may span lines: the row-by-row reader decides
        rows.append(list(parsed[0]))
        found = find_header(rows[-2:], COLUMNS, {"meter", "date", "forward", "reverse"})
        if found:
            indexes = dict(found[1])
            indexes["width"] = len(rows[-1])
            offset = sum(len(raw) + 1 for raw in lines[: len(rows)])
            return COPY_ENCODINGS[encoding], delimiter, len(rows), offset, indexes
    return None


def _visible_groups(actor: User | None) -> tuple[str, list[str]] | None:
    """A condition on the groups ``g`` and their units ``u`` the actor may import for."""
    if actor is None or (actor.unit_id is None and actor.is_superuser):
        return "TRUE", []
    if actor.unit_id is None:
        return None  # sees nothing: the row-by-row check names every meter
    path = SupplyUnit.objects.filter(pk=actor.unit_id).values_list("path", flat=True).get()
    return "u.path LIKE %s", [path.replace("%", r"\%").replace("_", r"\_") + "%"]


def _column(columns: dict[str, int], key: str) -> str | None:
    return f"s.c{columns[key]}" if key in columns else None


def _joined(scope: tuple[str, list[str]]) -> str:
    groups = connection.ops.quote_name(Group._meta.db_table)
    units = connection.ops.quote_name(SupplyUnit._meta.db_table)
    return (
        f"FROM {RAW_STAGE} s LEFT JOIN {groups} g ON g.meter_asset_number = s.c{{meter}} "
        f"LEFT JOIN {units} u ON u.id = g.unit_id AND ({scope[0]})"
    )


def _check(
    *, columns: dict[str, int], scope: tuple[str, list[str]], today: dt.date
) -> tuple[int, int]:
    """(rows, rows not plainly regular)."""
    meter, day = f"s.c{columns['meter']}", f"s.c{columns['date']}"
    regular = [
        f"{meter} ~ '^[0-9]{{1,32}}$'",
        f"{day} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'",
        f"{day} >= '1900-01-01' AND {day} <= %s",
        "u.id IS NOT NULL",
        *(f"{_column(columns, key)} ~ '{NUMBER}'" for key in ("forward", "reverse")),
        *(
            f"COALESCE({_column(columns, key)}, '') ~ '^$|{NUMBER}'"
            for key in TOU
            if key in columns
        ),
        *(
            f"COALESCE(length(s.c{index}), 0) <= {MAX_REGULAR_CELL}"
            for index in range(columns["width"])
        ),
    ]
    condition = " AND ".join(f"({part})" for part in regular)
    joined = _joined(scope).replace("{meter}", str(columns["meter"]))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT COALESCE({condition}, FALSE)) {joined}",
            [today.isoformat(), *scope[1]],
        )
        total, irregular = cursor.fetchone()
    return int(total), int(irregular)


def _stage_rows(*, columns: dict[str, int], scope: tuple[str, list[str]], first_row: int) -> None:
    def value(key: str) -> str:
        column = _column(columns, key)
        return f"NULLIF({column}, '')::numeric(14, 2)" if column else "NULL"

    joined = _joined(scope).replace("{meter}", str(columns["meter"]))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Stage.NAME} ({', '.join(Stage.FIELDS)}) "
            f"SELECT s.line + %s, g.id, s.c{columns['meter']}, s.c{columns['date']}::date, "
            f"{value('forward')}, {value('reverse')}, {value('sharp')}, {value('peak')}, "
            f"{value('flat')}, {value('valley')} {joined}",
            [first_row, *scope[1]],
        )
