"""Benchmark: the memory an import takes, whatever the file.

    .venv/bin/python bench/hostile_upload_memory.py --csv-mib 200

Each phase runs in its own process, so its peak memory (max RSS) is its own:

- ``floor``: Django set up and the CSV read through once in 1 MiB blocks;
- ``whole_file``: the CSV decoded as a whole and parsed, as the readings import did
  before it streamed (kept for comparison: this is what the 1.5 GB came from);
- ``import_csv``: ``refmeter import-readings FILE`` of the CSV into a fresh SQLite
  database with its meters (every row checked, staged and merged);
- ``sheet_rows`` and ``sheet_list``: a workbook sized just under the sheet memory
  limit (``REFMETER_SHEET_MAX_MB``), read a row at a time (readings, stock) and as a
  list of rows (attachment 4, line loss, nearby index);
- ``hostile``: every file of the test corpus (tests/common/hostile.py), each refused.

Results go to bench/results/hostile_upload_memory.json and .md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LAST_DAY = dt.date(2026, 11, 1)
LIMIT_MIB = 300


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def phase_setup(database: Path, csv_path: Path, csv_mib: int) -> dict:
    """A database with enough meters, and a CSV of about ``csv_mib`` MiB of their readings."""
    setup_django(database)
    from decimal import Decimal

    from django.core.management import call_command

    from refmeter.organisations.models import SupplyUnit, UnitKind
    from refmeter.registry.models import Customer, DeviceType, Group

    call_command("migrate", interactive=False, verbosity=0)
    unit = SupplyUnit.objects.create(
        code="3350101", name="城南", kind=UnitKind.SERVICE_AREA, path="3350101/",
        account_prefix="1702",
    )  # fmt: skip
    device = DeviceType.objects.create(name="楼道EPON设备", rated_watts=Decimal(400))
    customer = Customer.objects.create(unit=unit, name="客户", created_date=dt.date(2015, 1, 1))
    days = 3000
    row_bytes = 37
    meters = max(1, csv_mib * 2**20 // (days * row_bytes))
    start = LAST_DAY - dt.timedelta(days=days - 1)
    Group.objects.bulk_create(
        Group(
            unit=unit,
            customer=customer,
            device_type=device,
            meter_asset_number=f"3310{index:09d}",
            meter_install_date=start,
            created_date=start,
        )
        for index in range(meters)
    )
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["电能表资产编号", "冻结日期", "正向有功总", "反向有功总"])
        for index in range(meters):
            value = 1000.0 + index % 500
            for offset in range(days):
                day = start + dt.timedelta(days=offset)
                writer.writerow([f"3310{index:09d}", day.isoformat(), f"{value:.2f}", "0"])
                value += 3.25
    return {"meters": meters, "rows": meters * days, "csv_mib": csv_path.stat().st_size / 2**20}


def phase_floor(database: Path, csv_path: Path) -> dict:
    setup_django(database)
    started = time.perf_counter()
    total = 0
    with csv_path.open("rb") as handle:
        while block := handle.read(2**20):
            total += len(block)
    return {"seconds": time.perf_counter() - started, "bytes": total, "peak_mib": peak_mib()}


def phase_whole_file(database: Path, csv_path: Path) -> dict:
    setup_django(database)
    started = time.perf_counter()
    text = csv_path.read_bytes().decode("utf-8-sig")
    rows = sum(1 for _row in csv.reader(io.StringIO(text)))
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mib": peak_mib()}


def phase_import_csv(database: Path, csv_path: Path) -> dict:
    setup_django(database)
    from django.core.management import call_command

    started = time.perf_counter()
    output = io.StringIO()
    call_command("import_readings", str(csv_path), "--format", "json", stdout=output,
                 stderr=io.StringIO())  # fmt: skip
    result = json.loads(output.getvalue())
    return {"seconds": time.perf_counter() - started, "result": result, "peak_mib": peak_mib()}


def _sheet_file(path: Path, *, rows: int, columns: int) -> None:
    """A workbook of ``rows`` x ``columns`` inline strings of 10 Chinese characters."""
    from tests.common import hostile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", hostile.CONTENT_TYPES)
        package.writestr("_rels/.rels", hostile.PACKAGE_RELS)
        package.writestr("xl/workbook.xml", hostile.WORKBOOK)
        package.writestr(
            "xl/_rels/workbook.xml.rels",
            hostile.WORKBOOK_RELS.format(target="/xl/worksheets/sheet1.xml", more=""),
        )
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{hostile.MAIN}"><sheetData>'.encode())
            letters = [chr(65 + column) for column in range(columns)]
            for number in range(1, rows + 1):
                cells = "".join(
                    f'<c r="{letter}{number}" t="inlineStr"><is><t>城南新村{number:06d}</t></is></c>'
                    for letter in letters
                )
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")


def _largest_sheet(database: Path, *, keep_rows: bool) -> tuple[int, int]:
    """The most rows of 10 columns that the sheet memory limit lets in."""
    setup_django(database)
    from refmeter.common.spreadsheets import bounds as sheets

    limit = sheets.limits().memory_bytes
    text = sheets._string_cost(len("城南新村000000".encode()))
    python = 2 if keep_rows else 1
    per_cell = (
        sheets.CELL_READ_BYTES + sheets.CELL_RANGE_BYTES + text * python
        + (sheets.PYTHON_CELL_BYTES if keep_rows else 0)
    )  # fmt: skip
    return int(limit * 0.98) // (per_cell * 10), 10


def phase_sheet(database: Path, work: Path, *, keep_rows: bool) -> dict:
    rows, columns = _largest_sheet(database, keep_rows=keep_rows)
    path = work / f"sheet-{'list' if keep_rows else 'rows'}.xlsx"
    _sheet_file(path, rows=rows, columns=columns)
    from refmeter.common.spreadsheets import iter_sheet_rows, open_sheets

    started = time.perf_counter()
    if keep_rows:
        count = len(open_sheets(path, max_rows=rows)[0].rows)
    else:
        count = sum(1 for _row in iter_sheet_rows(path, max_rows=rows))
    return {
        "rows": count,
        "columns": columns,
        "file_mib": path.stat().st_size / 2**20,
        "seconds": time.perf_counter() - started,
        "peak_mib": peak_mib(),
    }


def phase_hostile(database: Path, work: Path) -> dict:
    setup_django(database)
    from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
    from refmeter.readings.services import rows_from_file
    from tests.common import hostile

    makers = {
        name: getattr(hostile, name)
        for name in (
            "zip_bomb", "lying_sizes", "dimension_bomb", "declared_dimension_bomb",
            "wide_sheet", "xls_dimension_bomb", "ods_repeat_bomb", "shared_string_amplifier",
            "encrypted_ooxml", "encrypted_member", "xls_with_password", "xxe",
            "formula_in_renamed_part", "path_traversal",
        )
    }  # fmt: skip
    refused = {}
    started = time.perf_counter()
    for name, make in makers.items():
        try:
            open_sheets(make())
        except UnreadableSpreadsheet as error:
            refused[name] = str(error)
    rows = hostile.million_rows(work / "rows.xlsx")
    try:
        open_sheets(rows)
    except UnreadableSpreadsheet as error:
        refused["million_rows"] = str(error)
    for name in ("utf16_csv_without_bom", "mojibake_csv", "mixed_encoding_csv"):
        try:
            list(rows_from_file(getattr(hostile, name)(), "readings.csv"))
        except UnreadableSpreadsheet as error:
            refused[name] = str(error)
    return {
        "files": len(makers) + 4,
        "refused": refused,
        "seconds": time.perf_counter() - started,
        "peak_mib": peak_mib(),
    }


PHASES = ("floor", "whole_file", "import_csv", "sheet_rows", "sheet_list", "hostile")


def run_phase(name: str, work: Path) -> dict:
    command = [sys.executable, __file__, "--phase", name, "--work", str(work)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-mib", type=int, default=200)
    parser.add_argument("--phase", choices=("setup", *PHASES))
    parser.add_argument("--work")
    options = parser.parse_args()
    if options.phase:
        work = Path(options.work)
        database, csv_path = work / "bench.sqlite3", work / "readings.csv"
        if options.phase == "setup":
            result = phase_setup(database, csv_path, options.csv_mib)
        elif options.phase in ("floor", "whole_file", "import_csv"):
            result = globals()[f"phase_{options.phase}"](database, csv_path)
        elif options.phase == "hostile":
            result = phase_hostile(database, work)
        else:
            result = phase_sheet(database, work, keep_rows=options.phase == "sheet_list")
        print(json.dumps(result, ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory(prefix="refmeter-bench-") as folder:
        work = Path(folder)
        command = [sys.executable, __file__, "--phase", "setup", "--work", folder,
                   "--csv-mib", str(options.csv_mib)]  # fmt: skip
        setup = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout
        )
        phases = {name: run_phase(name, work) for name in PHASES}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "setup": setup,
        "phases": phases,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hostile_upload_memory.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    lines = [
        "# Memory of an import, whatever the file",
        "",
        f"{report['machine']}; {report['when']}. Peak RSS of each phase in its own process;",
        f"the target is under {LIMIT_MIB} MiB per import.",
        "",
        "| phase | what | time | peak memory |",
        "|---|---|---|---|",
        f"| floor | read the {setup['csv_mib']:.0f} MiB CSV in 1 MiB blocks | "
        f"{phases['floor']['seconds']:.1f} s | {phases['floor']['peak_mib']:.0f} MiB |",
        f"| before | the CSV decoded whole and parsed (the old reader) | "
        f"{phases['whole_file']['seconds']:.1f} s | {phases['whole_file']['peak_mib']:.0f} MiB |",
        f"| import-readings | {setup['rows']:,} rows of {setup['meters']:,} meters, checked, "
        f"staged, merged (SQLite) | {phases['import_csv']['seconds']:.1f} s | "
        f"{phases['import_csv']['peak_mib']:.0f} MiB |",
        f"| sheet, row by row | {phases['sheet_rows']['rows']:,} x "
        f"{phases['sheet_rows']['columns']} strings, just under the sheet limit | "
        f"{phases['sheet_rows']['seconds']:.1f} s | {phases['sheet_rows']['peak_mib']:.0f} MiB |",
        f"| sheet, as a list | {phases['sheet_list']['rows']:,} x "
        f"{phases['sheet_list']['columns']} strings, just under the sheet limit | "
        f"{phases['sheet_list']['seconds']:.1f} s | {phases['sheet_list']['peak_mib']:.0f} MiB |",
        f"| hostile corpus | {phases['hostile']['files']} files, each refused | "
        f"{phases['hostile']['seconds']:.1f} s | {phases['hostile']['peak_mib']:.0f} MiB |",
        "",
    ]
    (RESULTS / "hostile_upload_memory.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
