"""Importing readings: checked as a whole, staged in a temporary table, merged by SQL.

Rows are parsed and checked one by one as they stream in (bounded memory), written
to a temporary staging table (PostgreSQL COPY, or batched inserts on SQLite), and
merged into the readings with a few set-based statements: new readings inserted,
changed ones corrected with their old values kept as revisions, identical ones left.
Any problem, anywhere, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import (
    Source,
    column_letter,
    find_header,
    is_csv_name,
    iter_csv_rows,
    iter_sheet_rows,
)
from refmeter.common.text import clean_digits, clean_text
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_is_visible
from refmeter.readings.models import MeterReading, ReadingBatch
from refmeter.registry.models import Group

MAX_LISTED_PROBLEMS = 200
# A spreadsheet of readings has at most this many rows; more go in as CSV, which is
# read a line at a time.
MAX_SHEET_ROWS = 500_000
CENT = Decimal("0.01")
# Registers are numeric(14, 2): at most 12 digits before the decimal point.
READING_LIMIT = Decimal(10) ** 12
COLUMNS = {
    "meter": ("电能表资产编号", "资产编号", "表计资产号", "meter_asset_number", "meter"),
    "date": ("冻结日期", "抄表日期", "日期", "reading_date", "date"),
    "forward": ("正向有功总", "正向有功", "forward_total", "forward"),
    "reverse": ("反向有功总", "反向有功", "reverse_total", "reverse"),
    "sharp": ("尖", "sharp"),
    "peak": ("峰", "peak"),
    "flat": ("平", "flat"),
    "valley": ("谷", "valley"),
}
LABELS = {
    "meter": "电能表资产编号",
    "date": "冻结日期",
    "forward": "正向有功总",
    "reverse": "反向有功总",
    "sharp": "尖",
    "peak": "峰",
    "flat": "平",
    "valley": "谷",
}
TOU = ("sharp", "peak", "flat", "valley")
Progress = Callable[[int, str], None]


class UnableToImportReadings(Exception):
    def __init__(self, problems: list[str], total: int | None = None):
        self.problems = problems
        self.total = total if total is not None else len(problems)
        super().__init__("\n".join(problems[:50]))


@dataclass(frozen=True)
class ReadingsImportResult:
    rows: int
    created: int
    corrected: int
    unchanged: int
    batch_id: int

    def as_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "batch_id": self.batch_id,
        }


def rows_from_file(source: Source, file_name: str) -> Iterator[list[object]]:
    """Rows of a CSV (UTF-8, GB18030 or UTF-16, as Chinese systems and Excel write it),
    read a line at a time, or of a spreadsheet's first sheet. ``source`` is the file's
    bytes, its path or an open binary file; hostile files are refused as they are read."""
    if is_csv_name(file_name):
        yield from iter_csv_rows(source)
        return
    yield from iter_sheet_rows(source, max_rows=MAX_SHEET_ROWS)


def _decimal(value: object) -> Decimal | None:
    text = clean_text(value).replace(",", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if abs(number) >= READING_LIMIT:
        return number  # refused as out of range; rounding it could overflow
    return number.quantize(CENT)


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value).replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


class Stage:
    """The temporary staging table, on this transaction's connection."""

    NAME = "reading_stage"
    FIELDS = (
        "row_number",
        "group_id",
        "meter",
        "reading_date",
        "forward_total",
        "reverse_total",
        "sharp",
        "peak",
        "flat",
        "valley",
    )

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.buffer: list[tuple[Any, ...]] = []

    def create(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.NAME}")
            cursor.execute(
                f"CREATE TEMP TABLE {self.NAME} (row_number integer, group_id bigint, "
                "meter varchar(32), reading_date date, forward_total numeric(14,2), "
                "reverse_total numeric(14,2), sharp numeric(14,2), peak numeric(14,2), "
                "flat numeric(14,2), valley numeric(14,2))"
            )

    def add(self, row: tuple[Any, ...]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= 5000:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.postgres:
            raw = connection.connection.cursor()
            with raw.copy(f"COPY {self.NAME} ({', '.join(self.FIELDS)}) FROM STDIN") as copy:
                for row in self.buffer:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(self.FIELDS))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.NAME} VALUES ({placeholders})",
                    [
                        tuple(str(value) if isinstance(value, Decimal) else value for value in row)
                        for row in self.buffer
                    ],
                )
        self.buffer.clear()

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.NAME}")


def readings_import(
    *,
    actor: User | None,
    rows: Iterable[list[object]],
    file_name: str,
    today: dt.date,
    now: dt.datetime,
    progress: Progress = lambda done, message: None,
) -> ReadingsImportResult:
    """Import daily frozen readings; ``actor`` None is the operator at the command line."""
    if actor is not None:
        require(user=actor, action=Action.IMPORT_READINGS)
    meters: dict[str, tuple[int, bool]] = {}
    for group in Group.objects.select_related("unit").only(
        "id", "meter_asset_number", "unit__path"
    ):
        visible = actor is None or unit_is_visible(user=actor, unit=group.unit)
        meters[group.meter_asset_number] = (group.pk, visible)
    problems: list[str] = []
    count_problems = 0

    def problem(row_number: int, key: str | None, message: str) -> None:
        nonlocal count_problems
        count_problems += 1
        if len(problems) < MAX_LISTED_PROBLEMS:
            where = (
                _("第 %(row)d 行 %(column)s 列（%(label)s）")
                % {"row": row_number, "column": column_letter(columns[key]), "label": LABELS[key]}
                if key is not None
                else _("第 %(row)d 行") % {"row": row_number}
            )
            problems.append(f"{where}：{message}")

    iterator = iter(rows)
    head: list[list[object]] = []
    columns: dict[str, int] = {}
    for row in iterator:
        head.append(row)
        found = find_header(head[-2:], COLUMNS, {"meter", "date", "forward", "reverse"})
        if found:
            columns = found[1]
            break
        if len(head) >= 20:
            break
    if not columns:
        raise UnableToImportReadings(
            [_("未找到表头：需要“电能表资产编号、冻结日期、正向有功总、反向有功总”四列。")]
        )
    row_number = len(head)
    stage = Stage()
    with transaction.atomic():
        stage.create()
        total = 0
        for row in iterator:
            row_number += 1
            cells = {
                key: (row[index] if index < len(row) else None) for key, index in columns.items()
            }
            if not any(clean_text(value) for value in row):
                continue
            total += 1
            before = count_problems
            meter = clean_digits(cells["meter"])
            known = meters.get(meter)
            if not meter:
                problem(row_number, "meter", _("电能表资产编号为空。"))
            elif known is None:
                problem(
                    row_number,
                    "meter",
                    _("电能表 %(meter)s 不是任何群组的参考表。") % {"meter": meter},
                )
            elif not known[1]:
                problem(
                    row_number,
                    "meter",
                    _("电能表 %(meter)s 属于其他单位，您无权导入。") % {"meter": meter},
                )
            day = _date(cells["date"])
            if day is None:
                problem(
                    row_number,
                    "date",
                    _("“%(value)s”不是日期。") % {"value": clean_text(cells["date"])},
                )
            elif day > today:
                problem(row_number, "date", _("日期 %(day)s 在未来。") % {"day": day.isoformat()})
            values: dict[str, Decimal | None] = {}
            for key in ("forward", "reverse", *TOU):
                if key not in columns:
                    values[key] = None
                    continue
                raw = clean_text(cells[key])
                number = _decimal(cells[key])
                if key in ("forward", "reverse") and not raw:
                    problem(row_number, key, _("不能为空。"))
                elif raw and number is None:
                    problem(row_number, key, _("“%(value)s”不是数字。") % {"value": raw})
                elif number is not None and abs(number) >= READING_LIMIT:
                    problem(row_number, key, _("示数超出范围：整数部分最多 12 位。"))
                elif number is not None and number < 0:
                    problem(row_number, key, _("示数不能为负数。"))
                values[key] = number
            if count_problems == before and known is not None and day is not None:
                stage.add(
                    (
                        row_number,
                        known[0],
                        meter,
                        day,
                        values["forward"],
                        values["reverse"],
                        values["sharp"],
                        values["peak"],
                        values["flat"],
                        values["valley"],
                    )
                )
            if total % 50_000 == 0:
                progress(total, _("读取并检查"))
        stage.flush()
        if count_problems:
            stage.drop()
            transaction.set_rollback(True)
            raise UnableToImportReadings(_with_tail(problems, count_problems), count_problems)
        if total == 0:
            stage.drop()
            raise UnableToImportReadings([_("文件中没有抄表数据。")])
        return staged_merge(
            stage=stage, total=total, actor=actor, file_name=file_name, now=now,
            progress=progress,
        )  # fmt: skip


def staged_merge(
    *,
    stage: Stage,
    total: int,
    actor: User | None,
    file_name: str,
    now: dt.datetime,
    progress: Progress,
) -> ReadingsImportResult:
    """Every staged row has passed its checks: refuse a meter and day given twice with
    different values, then merge into the readings. Inside the import's transaction."""
    progress(total, _("核对重复行"))
    duplicates = _conflicting_duplicates()
    if duplicates:
        stage.drop()
        transaction.set_rollback(True)
        raise UnableToImportReadings(duplicates)
    unique_rows = _drop_identical_duplicates()
    if connection.vendor == "postgresql":
        # Temporary tables are never analysed automatically; without statistics the
        # planner may join the staged rows to the readings row by row.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Stage.NAME}")
    progress(total, _("写入"))
    batch = ReadingBatch.objects.create(
        file_name=file_name[:255], imported_at=now, imported_by=actor, rows=total
    )
    created, corrected = _merge(batch_id=batch.pk, now=now)
    stage.drop()
    batch.created, batch.corrected = created, corrected
    batch.unchanged = unique_rows - created - corrected
    batch.save(update_fields=["created", "corrected", "unchanged"])
    if connection.vendor == "postgresql" and created > 50_000:
        # Fresh statistics, so the next anomaly scan plans its joins on real row counts.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {MeterReading._meta.db_table}")
    return ReadingsImportResult(total, created, corrected, batch.unchanged, batch.pk)


def _with_tail(problems: list[str], total: int) -> list[str]:
    if total > len(problems):
        return [
            *problems,
            _("……以及另外 %(count)d 个问题。") % {"count": total - len(problems)},
        ]
    return problems


VALUE_COLUMNS = ("forward_total", "reverse_total", "sharp", "peak", "flat", "valley")


def _conflicting_duplicates() -> list[str]:
    """The same meter and day twice in the file with different values."""
    distinct = " OR ".join(f"COUNT(DISTINCT {name}) > 1" for name in VALUE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT meter, reading_date, MIN(row_number), MAX(row_number) FROM {Stage.NAME} "
            f"GROUP BY meter, reading_date HAVING {distinct} "
            "ORDER BY MIN(row_number) LIMIT 200"
        )
        found = cursor.fetchall()
    return [
        _("第 %(first)d 行与第 %(second)d 行：电能表 %(meter)s 在 %(day)s 的示数不一致。")
        % {"first": first, "second": second, "meter": meter, "day": str(day)[:10]}
        for meter, day, first, second in found
    ]


def _drop_identical_duplicates() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Stage.NAME} WHERE row_number NOT IN "
            f"(SELECT MIN(row_number) FROM {Stage.NAME} GROUP BY meter, reading_date)"
        )
        cursor.execute(f"SELECT COUNT(*) FROM {Stage.NAME}")
        return int(cursor.fetchone()[0])


def _merge(*, batch_id: int, now: dt.datetime) -> tuple[int, int]:
    """New readings in, changed ones corrected (old values kept); returns (created, corrected)."""
    table = MeterReading._meta.db_table
    revisions = "readings_meterreadingrevision"
    differs = " OR ".join(f"r.{name} IS DISTINCT FROM s.{name}" for name in VALUE_COLUMNS)
    if connection.vendor == "sqlite":
        differs = differs.replace("IS DISTINCT FROM", "IS NOT")
    join = f"FROM {table} r JOIN {Stage.NAME} s ON r.meter_asset_number = s.meter AND r.reading_date = s.reading_date"
    values = ", ".join(VALUE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {revisions} (reading_id, {values}, replaced_at, replaced_by_id) "
            f"SELECT r.id, {', '.join('r.' + name for name in VALUE_COLUMNS)}, %s, %s "
            f"{join} WHERE {differs}",
            [now, batch_id],
        )
        corrected = cursor.rowcount
        assignments = ", ".join(f"{name} = s.{name}" for name in VALUE_COLUMNS)
        cursor.execute(
            f"UPDATE {table} AS r SET {assignments}, batch_id = %s FROM {Stage.NAME} s "
            "WHERE r.meter_asset_number = s.meter AND r.reading_date = s.reading_date "
            f"AND ({differs})",
            [batch_id],
        )
        # ON CONFLICT rather than NOT EXISTS: a planner may otherwise rescan the table this
        # very statement is filling, once per staged row.
        cursor.execute(
            f"INSERT INTO {table} (group_id, meter_asset_number, reading_date, {values}, batch_id) "
            f"SELECT s.group_id, s.meter, s.reading_date, "
            f"{', '.join('s.' + name for name in VALUE_COLUMNS)}, %s FROM {Stage.NAME} s "
            "WHERE 1 = 1 ON CONFLICT (meter_asset_number, reading_date) DO NOTHING",
            [batch_id],
        )
        created = cursor.rowcount
    return created, corrected
