"""A file of readings: on PostgreSQL a regular CSV is copied in and checked by SQL, anything
else is read row by row; either way the same readings, counts and messages."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection, transaction

from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.readings.models import MeterReading, MeterReadingRevision
from refmeter.readings.services import (
    UnableToImportReadings,
    readings_import,
    readings_import_file,
    rows_from_file,
)
from refmeter.readings.services import files as file_import
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)
POSTGRES = connection.vendor == "postgresql"
HEADER = "电能表资产编号,冻结日期,正向有功总,反向有功总,尖,峰,平,谷"


@pytest.fixture
def meters(city):
    south = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
    north = factories.group(actor=city.north_admin, unit=city.north, place=city.north_place)
    return south.meter_asset_number, north.meter_asset_number


def outcome(call) -> tuple[object, list[tuple]]:
    """What an import answers and writes, undone afterwards."""
    with transaction.atomic():
        try:
            result = call()
            answer: object = (result.rows, result.created, result.corrected, result.unchanged)
        except UnableToImportReadings as refusal:
            answer = ("refused", refusal.problems)
        except UnreadableSpreadsheet as refusal:
            answer = ("unreadable", str(refusal))
        written = list(
            MeterReading.objects.order_by("meter_asset_number", "reading_date").values_list(
                "group_id", "meter_asset_number", "reading_date", "forward_total",
                "reverse_total", "sharp", "peak", "flat", "valley",
            )
        ) + list(MeterReadingRevision.objects.order_by("pk").values_list("forward_total"))  # fmt: skip
        transaction.set_rollback(True)
    return answer, written


def both_ways(actor, data: bytes, monkeypatch, name: str = "readings.csv") -> tuple[bool, tuple]:
    """Import by file and row by row; whether the file went by COPY, and the outcome."""
    copied = []
    original = file_import._copied_import

    def spy(**arguments):
        found = original(**arguments)
        copied.append(found is not None)
        return found

    monkeypatch.setattr(file_import, "_copied_import", spy)
    by_file = outcome(
        lambda: readings_import_file(
            actor=actor, data=io.BytesIO(data), file_name=name, today=TODAY, now=NOW
        )
    )
    by_rows = outcome(
        lambda: readings_import(
            actor=actor, rows=rows_from_file(data, name), file_name=name, today=TODAY, now=NOW
        )
    )
    assert by_file == by_rows
    return bool(copied and copied[0]), by_file


def regular(south: str, north: str) -> dict[str, bytes]:
    lines = [
        f"{south},2026-11-01,1149.24,0,100,300,500,249.24",
        f"{south},2026-11-02,1150.5,0,,,,",
        f"{south},2026-11-03,0001151,0.00,100,300,501,250",
        f'"{south}","2026-11-04","1152.01","0",100,300,502,250.01',
        f"{south},2026-11-04,1152.01,0,100,300,502,250.01",  # the same row twice
    ]
    body = "\n".join([HEADER, *lines]) + "\n"
    return {
        "utf-8": body.encode("utf-8"),
        "utf-8 with a byte-order mark and CRLF": b"\xef\xbb\xbf"
        + body.replace("\n", "\r\n").encode("utf-8"),
        "gb18030 with a title row": ("采集系统日冻结数据\n" + body).encode("gb18030"),
        "tab-separated": body.replace(",", "\t").encode("utf-8"),
        "four columns": (
            f"电能表资产编号,冻结日期,正向有功总,反向有功总\n{south},2026-11-01,10,0\n"
        ).encode(),
    }


def irregular(south: str, north: str) -> dict[str, bytes]:
    start = HEADER + "\n" + f"{south},2026-11-01,10,0,,,,\n"
    return {
        "a slash date": (start + f"{south},2026/11/2,11,0,,,,\n").encode(),
        "full-width digits": (start + f"{south},２０２６-11-02,11,0,,,,\n").encode(),
        "three decimals": (start + f"{south},2026-11-02,11.005,0,,,,\n").encode(),
        "spaces around a number": (start + f"{south},2026-11-02, 11 ,0,,,,\n").encode(),
        "a blank line": (start + "\n" + f"{south},2026-11-02,11,0,,,,\n").encode(),
        "a ragged row": (start + f"{south},2026-11-02,11,0\n").encode(),
        "an unknown meter": (start + "3310999999999,2026-11-02,11,0,,,,\n").encode(),
        "another unit's meter": (start + f"{north},2026-11-02,11,0,,,,\n").encode(),
        "a future day": (start + f"{south},2026-12-01,11,0,,,,\n").encode(),
        "an impossible day": (start + f"{south},2026-02-30,11,0,,,,\n").encode(),
        "a negative register": (start + f"{south},2026-11-02,-11,0,,,,\n").encode(),
        "a NUL": (start + f"{south},2026-11-02,1\x001,0,,,,\n").encode(),
        "a quoted header": (
            f'"电能表资产编号",冻结日期,正向有功总,反向有功总\n{south},2026-11-02,1,0\n'
        ).encode(),
        "no rows": (HEADER + "\n").encode(),
        "utf-16": (HEADER + "\n" + f"{south},2026-11-02,1,0,,,,\n").encode("utf-16"),
    }


class TestTheTwoWaysAgree:
    @pytest.mark.parametrize("case", list(regular("1", "2")))
    def test_a_regular_file_is_copied_on_postgresql_with_the_same_outcome(
        self, city, meters, monkeypatch, case
    ):
        data = regular(*meters)[case]

        copied, (answer, written) = both_ways(city.south_admin, data, monkeypatch)

        assert copied is POSTGRES
        assert answer[0] in (1, 5)  # rows read
        assert written

    @pytest.mark.parametrize("case", list(irregular("1", "2")))
    def test_anything_else_is_read_row_by_row_with_the_same_outcome(
        self, city, meters, monkeypatch, case
    ):
        data = irregular(*meters)[case]

        copied, _outcome = both_ways(city.south_admin, data, monkeypatch)

        assert copied is False

    def test_the_same_day_twice_with_different_values_is_refused_alike(
        self, city, meters, monkeypatch
    ):
        south, _north = meters
        data = (HEADER + f"\n{south},2026-11-01,10,0,,,,\n{south},2026-11-01,11,0,,,,\n").encode()

        copied, (answer, written) = both_ways(city.south_admin, data, monkeypatch)

        assert copied is False
        assert answer == (
            "refused",
            [f"第 2 行与第 3 行：电能表 {south} 在 2026-11-01 的示数不一致。"],
        )
        assert written == []

    def test_corrections_keep_the_old_values_alike(self, city, meters, monkeypatch):
        south, _north = meters
        first = (HEADER + f"\n{south},2026-11-01,10,0,,,,\n").encode()
        readings_import_file(
            actor=city.south_admin, data=io.BytesIO(first), file_name="a.csv", today=TODAY,
            now=NOW,
        )  # fmt: skip
        second = (
            HEADER + f"\n{south},2026-11-01,10.5,0,,,,\n{south},2026-11-02,11,0,,,,\n"
        ).encode()

        copied, (answer, written) = both_ways(city.south_admin, second, monkeypatch)

        assert copied is POSTGRES
        assert answer == (2, 1, 1, 0)
        assert written[-1] == (Decimal("10.00"),)  # the revision of the corrected reading

    def test_the_command_line_operator_imports_any_units_meters(self, city, meters, monkeypatch):
        south, north = meters
        data = (HEADER + f"\n{south},2026-11-01,10,0,,,,\n{north},2026-11-01,20,0,,,,\n").encode()

        copied, (answer, _written) = both_ways(None, data, monkeypatch)

        assert copied is POSTGRES
        assert answer == (2, 2, 0, 0)
