"""Benchmark: going live on an empty PostgreSQL database: load-access-points of N access
points from one xlsx, then import-stock of a check list of N points onto them.

Each measurement runs in its own process so that its peak memory (max RSS) is its own.
Beside each load the same run measures its floor: reading the same workbook with
python-calamine alone plus PostgreSQL COPY of the same rows into a plain table.

    .venv/bin/python bench/go_live.py --access-points 100000 --points 100000

Results go to bench/results/go_live.json and bench/results/go_live.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refmeter_golive_bench"
)
POINTS_PER_GROUP = 100  # the base account and 99 sub-accounts
AREAS = 1000


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _sheet(path: Path, title: str, rows: list[list[object]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for row in rows:
        sheet.append(row)
    book.save(path)


# ---------------------------------------------------------------- phases (one process each)


def phase_setup(database_url: str, folder: Path, places: int, points: int) -> dict:
    """An empty database with the units, a customer, a device type and the areas loaded
    through their loads; the access point workbook and the stock workbook."""
    django_setup(database_url)
    from django.core.management import call_command
    from django.utils import timezone
    from openpyxl import Workbook

    from refmeter.masterdata.services import load_file
    from refmeter.organisations.models import User
    from refmeter.spreadsheets.stock import GROUP_COLUMNS, GROUP_SHEET, POINT_COLUMNS, POINT_SHEET

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    admin = User.objects.create_superuser("admin", password="bench-password-1")
    small = {
        "units": [["编码", "名称", "上级编码"], ["33501", "公司", ""], ["3350101", "城南", "33501"]],
        "customers": [["单位编码", "名称"], *[["3350101", f"客户{index}"] for index in range(8)]],
        "device_types": [["名称", "额定功率"], ["楼道EPON设备", 400]],
        "areas": [["台区编号", "名称", "单位编码"],
                  *[[f"33{index:08d}", f"台区{index}", "3350101"] for index in range(AREAS)]],
    }  # fmt: skip
    for kind, rows in small.items():
        path = folder / f"{kind}.xlsx"
        _sheet(path, kind, rows)
        load_file(kind=kind, actor=admin, data=path.read_bytes(), file_name=path.name, now=now)
    numbers = [f"33503{index:012d}" for index in range(places)]
    _sheet(
        folder / "access-points.xlsx",
        "接入点",
        [["接入点编号", "接入点名称", "台区编号"]]
        + [[number, f"城南新村{index // 40}幢终端箱{index}", f"33{index % AREAS:08d}"]
           for index, number in enumerate(numbers)],
    )  # fmt: skip
    book = Workbook(write_only=True)
    groups_sheet = book.create_sheet(GROUP_SHEET)
    groups_sheet.append([label for _key, label in GROUP_COLUMNS])
    points_sheet = book.create_sheet(POINT_SHEET)
    points_sheet.append([label for _key, label in POINT_COLUMNS])
    created = dt.date(2015, 1, 1)
    number = 0
    for group_index in range(points // POINTS_PER_GROUP):
        number += 1
        base = f"1701{number:06d}"
        groups_sheet.append(
            ["3350101", "城南", f"客户{group_index % 8}", base, f"基准户{group_index}",
             f"越城区城南街道{group_index}号", created, "", f"3310{group_index:09d}", "",
             1, "LV", "楼道EPON设备", numbers[group_index % places], "", "", POINTS_PER_GROUP]
        )  # fmt: skip
        for point_index in range(POINTS_PER_GROUP - 1):
            number += 1
            points_sheet.append(
                [base, f"1701{number:06d}", f"点位{group_index}-{point_index}",
                 f"越城区城南街道{group_index}号{point_index}幢", "",
                 numbers[(group_index * POINTS_PER_GROUP + point_index) % places], "", "",
                 created, None, "在用"]
            )  # fmt: skip
    book.save(folder / "stock.xlsx")
    return {
        "access_points_bytes": (folder / "access-points.xlsx").stat().st_size,
        "stock_bytes": (folder / "stock.xlsx").stat().st_size,
    }


def phase_floor(database_url: str, workbook: Path, sheet: str) -> dict:
    """Read the sheet with python-calamine, then COPY its rows into a plain table."""
    import psycopg
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(workbook))
    rows = [[str(value) for value in row] for row in book.get_sheet_by_name(sheet).iter_rows()][1:]
    read = time.perf_counter() - started
    columns = len(rows[0])
    started = time.perf_counter()
    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_copy")
        connection.execute(
            "CREATE TABLE bench_copy ("
            + ", ".join(f"c{index} text" for index in range(columns))
            + ")"
        )
        with connection.cursor().copy("COPY bench_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute("DROP TABLE bench_copy")
    copied = time.perf_counter() - started
    return {"read_seconds": read, "copy_seconds": copied, "seconds": read + copied,
            "rows": len(rows), "peak_mib": peak_mib()}  # fmt: skip


# The tables each load writes, and which of their rows: the result floor copies exactly
# these rows into tables of the same shape (columns, checks, indexes; not the foreign
# keys and triggers), the least the same result can cost.
WRITTEN = {
    "access_points": [
        ("registry_accesspoint", "TRUE"),
        ("audit_auditentry", "action = 'access_point.create'"),
    ],
    "stock": [
        ("registry_customer", "TRUE"),
        ("registry_group", "TRUE"),
        ("registry_groupterms", "TRUE"),
        ("registry_point", "TRUE"),
        ("registry_pointplacement", "TRUE"),
        ("audit_auditentry",
         "action IN ('customer.create', 'group.create', 'point.create', 'point.cancel')"),
    ],
}  # fmt: skip


def phase_written_floor(database_url: str, workbook: Path, sheet: str, load: str) -> dict:
    """Read the sheet with python-calamine, then COPY every row the load wrote into
    tables of the same shape; the rows are taken from the database beforehand."""
    import psycopg
    from python_calamine import CalamineWorkbook

    url = database_url.replace("postgres://", "postgresql://")
    tables = WRITTEN[load]
    dumps: list[tuple[str, bytes]] = []
    with psycopg.connect(url) as connection:
        for table, condition in tables:
            data = bytearray()
            with connection.cursor().copy(
                f"COPY (SELECT * FROM {table} WHERE {condition}) TO STDOUT"
            ) as copy:
                for block in copy:
                    data += block
            dumps.append((table, bytes(data)))
    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(workbook))
    rows = [[str(value) for value in row] for row in book.get_sheet_by_name(sheet).iter_rows()]
    read = time.perf_counter() - started
    written = 0
    with psycopg.connect(url) as connection:
        for table, _condition in tables:
            connection.execute(f"DROP TABLE IF EXISTS floor_{table}")
            connection.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
        connection.commit()
        started = time.perf_counter()
        for table, data in dumps:
            with connection.cursor().copy(f"COPY floor_{table} FROM STDIN") as copy:
                copy.write(data)
            written += data.count(b"\n")
        connection.commit()
        copied = time.perf_counter() - started
        for table, _condition in tables:
            connection.execute(f"DROP TABLE floor_{table}")
        connection.commit()
    return {"read_seconds": read, "copy_seconds": copied, "seconds": read + copied,
            "rows": len(rows) - 1, "rows_written": written}  # fmt: skip


def phase_access_points(database_url: str, workbook: Path) -> dict:
    django_setup(database_url)
    from django.utils import timezone

    from refmeter.audit.models import AuditEntry
    from refmeter.masterdata.services import load_file
    from refmeter.organisations.models import User
    from refmeter.registry.models import AccessPoint

    actor = User.objects.get(username="admin")
    data = workbook.read_bytes()
    started = time.perf_counter()
    result = load_file(kind="access_points", actor=actor, data=data, file_name=workbook.name,
                       now=timezone.now())  # fmt: skip
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = load_file(kind="access_points", actor=actor, data=data, file_name=workbook.name,
                      now=timezone.now(), dry_run=True)  # fmt: skip
    return {
        "seconds": seconds,
        "created": len(result.created),
        "access_points_in_database": AccessPoint.objects.count(),
        "audit_entries": AuditEntry.objects.filter(action="access_point.create").count(),
        "second_load_dry_run_seconds": time.perf_counter() - started,
        "second_load_unchanged": again.unchanged,
        "peak_mib": peak_mib(),
    }


def phase_stock(database_url: str, workbook: Path) -> dict:
    django_setup(database_url)
    from django.utils import timezone

    from refmeter.organisations.models import User
    from refmeter.registry.models import Point
    from refmeter.spreadsheets.stock import stock_import

    actor = User.objects.select_related("unit").get(username="admin")
    data = workbook.read_bytes()
    started = time.perf_counter()
    result = stock_import(actor=actor, data=data, now=timezone.now())
    return {
        "seconds": time.perf_counter() - started,
        "points_in_database": Point.objects.count(),
        "result": result.as_dict(),
        "peak_mib": peak_mib(),
    }


# ---------------------------------------------------------------- driver


def run_phase(*arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "_phase", *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"phase {arguments[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def ensure_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--access-points", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--note", default="", help="a remark on the machine's load, reported")
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    ensure_postgres_database(POSTGRES_URL)
    report: dict = {
        "benchmark": "go-live",
        "access_points": options.access_points,
        "points": options.points,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "load_average_before": os.getloadavg(),
        "note": options.note,
    }
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        print("preparing the files and the empty database ...", flush=True)
        report["setup"] = run_phase("setup", POSTGRES_URL, name, str(options.access_points),
                                    str(options.points))  # fmt: skip
        print("floor of the access points: calamine read + COPY ...", flush=True)
        places_floor = run_phase(
            "floor", POSTGRES_URL, str(folder / "access-points.xlsx"), "接入点"
        )
        print("load-access-points ...", flush=True)
        places = run_phase("access_points", POSTGRES_URL, str(folder / "access-points.xlsx"))
        print("result floor of the access points: read + COPY of the rows written ...",
              flush=True)  # fmt: skip
        places_written = run_phase("written_floor", POSTGRES_URL,
                                   str(folder / "access-points.xlsx"), "接入点", "access_points")  # fmt: skip
        print("floor of the stock list: calamine read + COPY ...", flush=True)
        stock_floor = run_phase("floor", POSTGRES_URL, str(folder / "stock.xlsx"), "虚拟子户清单")
        print("import-stock ...", flush=True)
        stock = run_phase("stock", POSTGRES_URL, str(folder / "stock.xlsx"))
        print("result floor of the stock list: read + COPY of the rows written ...", flush=True)
        stock_written = run_phase("written_floor", POSTGRES_URL, str(folder / "stock.xlsx"),
                                  "虚拟子户清单", "stock")  # fmt: skip
        print("import-stock of the same list again ...", flush=True)
        again = run_phase("stock", POSTGRES_URL, str(folder / "stock.xlsx"))
    report["load_access_points"] = {
        "load": places,
        "floor": places_floor,
        "ratio": places["seconds"] / places_floor["seconds"],
        "written_floor": places_written,
        "written_ratio": places["seconds"] / places_written["seconds"],
    }
    report["import_stock"] = {"load": stock, "floor": stock_floor,
                              "ratio": stock["seconds"] / stock_floor["seconds"],
                              "written_floor": stock_written,
                              "written_ratio": stock["seconds"] / stock_written["seconds"],
                              "again": again}  # fmt: skip
    (RESULTS / "go_live.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    lines = [
        f"# go-live benchmark: {options.access_points:,} access points, then a stock list of "
        f"{options.points:,} points, into an empty PostgreSQL database",
        "",
        f"Run {report['when']} on {report['machine']}; load average before the run "
        f"{', '.join(f'{value:.1f}' for value in report['load_average_before'])}. "
        + (options.note + " " if options.note else "")
        + "Peak memory is the max RSS of the process doing the work. Two floors, each "
        "measured in the same run: reading the same sheet with python-calamine plus "
        "PostgreSQL COPY of the sheet's rows into a plain table (the sheet floor); and the "
        "same read plus COPY of every row the load wrote (its records and their audit "
        "entries) into tables of the same columns, checks and indexes, without the foreign "
        "keys and triggers (the result floor).",
        "",
        "| load | rows | time | peak memory | sheet floor: read + COPY | ratio | "
        "result floor: read + COPY of the rows written | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, key in (
        ("load-access-points", "load_access_points"),
        ("import-stock", "import_stock"),
    ):
        entry = report[key]
        load, floor = entry["load"], entry["floor"]
        written = entry["written_floor"]
        lines.append(
            f"| {label} | {floor['rows']:,} | {load['seconds']:.1f} s | {load['peak_mib']:.0f} MiB "
            f"| {floor['seconds']:.2f} s ({floor['read_seconds']:.2f} + {floor['copy_seconds']:.2f}) "
            f"| {entry['ratio']:.1f}× "
            f"| {written['seconds']:.2f} s ({written['read_seconds']:.2f} + "
            f"{written['copy_seconds']:.2f}, {written['rows_written']:,} rows) "
            f"| {entry['written_ratio']:.1f}× |"
        )
    lines += [
        "",
        f"The same access point file loaded again (dry run): "
        f"{places['second_load_dry_run_seconds']:.1f} s, "
        f"{places['second_load_unchanged']:,} rows unchanged. The same stock list imported "
        f"again: {again['seconds']:.1f} s, {again['peak_mib']:.0f} MiB, "
        f"{again['result']['points']['unchanged']:,} points unchanged.",
    ]
    (RESULTS / "go_live.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_phase":
        phase, *rest = sys.argv[2:]
        if phase == "setup":
            output = phase_setup(rest[0], Path(rest[1]), int(rest[2]), int(rest[3]))
        elif phase == "floor":
            output = phase_floor(rest[0], Path(rest[1]), rest[2])
        elif phase == "written_floor":
            output = phase_written_floor(rest[0], Path(rest[1]), rest[2], rest[3])
        elif phase == "access_points":
            output = phase_access_points(rest[0], Path(rest[1]))
        else:
            output = phase_stock(rest[0], Path(rest[1]))
        print(json.dumps(output, default=str))
    else:
        main()
