"""Benchmark: import-stock of N points from xlsx, on SQLite and PostgreSQL.

Each measurement runs in its own process so that its peak memory (max RSS) is its own.
Beside the import, the same run measures the floor: reading the same workbook with
python-calamine alone, and PostgreSQL COPY of the same rows.

    .venv/bin/python bench/import_stock.py --points 100000 --databases sqlite,postgres

Results go to bench/results/import_stock.json and bench/results/import_stock.md.
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
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refmeter_bench"
)
POINTS_PER_GROUP = 100  # the base account and 99 sub-accounts
ACCESS_POINTS = 2000


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# ---------------------------------------------------------------- phases (one process each)


def phase_setup(database_url: str, workbook: Path, points: int) -> dict:
    """A fresh database with the reference data, and the workbook of N points."""
    django_setup(database_url)
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone
    from openpyxl import Workbook

    from refmeter.organisations.models import Role, UnitKind
    from refmeter.organisations.services import supply_unit_create, user_create
    from refmeter.registry.models import AccessPoint, TransformerArea
    from refmeter.registry.services import device_type_create
    from refmeter.spreadsheets.stock import GROUP_COLUMNS, GROUP_SHEET, POINT_COLUMNS, POINT_SHEET

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    company = supply_unit_create(
        code="33501", name="公司", kind=UnitKind.COMPANY, parent=None, now=now
    )
    unit = supply_unit_create(
        code="3350101",
        name="城南",
        kind=UnitKind.SERVICE_AREA,
        parent=company,
        account_prefix="1702",
        now=now,
    )
    admin = user_create(
        username="admin",
        password="x",
        unit=company,
        role=Role.ADMINISTRATOR,
        is_superuser=True,
        now=now,
    )
    device_type_create(actor=admin, name="楼道EPON设备", rated_watts=Decimal(400), now=now)
    areas = TransformerArea.objects.bulk_create(
        TransformerArea(unit=unit, number=f"33{index:08d}", name=f"台区{index}")
        for index in range(ACCESS_POINTS // 2)
    )
    places = AccessPoint.objects.bulk_create(
        AccessPoint(number=f"33503{index:012d}", name=f"接入点{index}", area=areas[index // 2])
        for index in range(ACCESS_POINTS)
    )
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
        place = places[group_index % len(places)].number
        groups_sheet.append(
            ["3350101", "城南", f"客户{group_index % 8}", base, f"基准户{group_index}",
             f"越城区城南街道{group_index}号", created, "", f"3310{group_index:09d}", "",
             1, "LV", "楼道EPON设备", place, "", "", POINTS_PER_GROUP]
        )  # fmt: skip
        for point_index in range(POINTS_PER_GROUP - 1):
            number += 1
            points_sheet.append(
                [base, f"1701{number:06d}", f"点位{group_index}-{point_index}",
                 f"越城区城南街道{group_index}号{point_index}幢", "",
                 places[(group_index + point_index) % len(places)].number, "", "", created,
                 None, "在用"]
            )  # fmt: skip
    book.save(workbook)
    return {"workbook_bytes": workbook.stat().st_size}


def phase_calamine(workbook: Path) -> dict:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(workbook))
    rows = 0
    for name in book.sheet_names:
        for _row in book.get_sheet_by_name(name).iter_rows():
            rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mib": peak_mib()}


def phase_copy(database_url: str, workbook: Path) -> dict:
    """PostgreSQL COPY of the same point rows into a plain table: the database's floor."""
    import psycopg
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(workbook))
    rows = [
        [str(value) for value in row] for row in book.get_sheet_by_name("虚拟子户清单").iter_rows()
    ][1:]
    started = time.perf_counter()
    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_copy")
        connection.execute(
            "CREATE TABLE bench_copy (base text, account text, name text, address text, "
            "nearby text, place text, place_name text, area text, active_from text, "
            "active_to text, status text)"
        )
        with connection.cursor().copy("COPY bench_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute("DROP TABLE bench_copy")
    return {"seconds": time.perf_counter() - started, "rows": len(rows), "peak_mib": peak_mib()}


def phase_import(database_url: str, workbook: Path) -> dict:
    django_setup(database_url)
    from django.utils import timezone

    from refmeter.organisations.models import User
    from refmeter.registry.models import Point
    from refmeter.spreadsheets.stock import stock_import

    actor = User.objects.select_related("unit").get(username="admin")
    data = workbook.read_bytes()
    started = time.perf_counter()
    result = stock_import(actor=actor, data=data, now=timezone.now())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
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
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "benchmark": "import-stock",
        "points": options.points,
        "groups": options.points // POINTS_PER_GROUP,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        workbook = Path(folder) / "stock.xlsx"
        for database in options.databases.split(","):
            if database == "sqlite":
                url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            else:
                url = POSTGRES_URL
                ensure_postgres_database(url)
            print(f"[{database}] preparing {options.points} points ...", flush=True)
            setup = run_phase("setup", url, str(workbook), str(options.points))
            print(f"[{database}] reading with calamine alone ...", flush=True)
            calamine = run_phase("calamine", str(workbook))
            copy = None
            if database == "postgres":
                print(f"[{database}] COPY of the same rows ...", flush=True)
                copy = run_phase("copy", url, str(workbook))
            print(f"[{database}] import-stock ...", flush=True)
            imported = run_phase("import", url, str(workbook))
            report["runs"][database] = {
                "workbook_bytes": setup["workbook_bytes"],
                "import": imported,
                "floor_calamine_read": calamine,
                "floor_postgres_copy": copy,
            }
            seconds, peak = imported["seconds"], imported["peak_mib"]
            print(f"[{database}] import {seconds:.1f} s, peak {peak:.0f} MiB", flush=True)
    (RESULTS / "import_stock.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    lines = [
        f"# import-stock benchmark: {options.points:,} points in {report['groups']:,} groups",
        "",
        f"Run {report['when']} on {report['machine']}. Peak memory is the max RSS of the "
        "process doing the work.",
        "",
        "| database | import-stock | peak memory | floor: calamine read | floor: PostgreSQL COPY |",
        "|---|---|---|---|---|",
    ]
    for database, run in report["runs"].items():
        copy = run["floor_postgres_copy"]
        copy_text = f"{copy['seconds']:.2f} s" if copy else "—"
        imported, floor = run["import"], run["floor_calamine_read"]
        lines.append(
            f"| {database} | {imported['seconds']:.1f} s | {imported['peak_mib']:.0f} MiB "
            f"| {floor['seconds']:.1f} s, {floor['peak_mib']:.0f} MiB | {copy_text} |"
        )
    (RESULTS / "import_stock.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_phase":
        phase, *rest = sys.argv[2:]
        if phase == "setup":
            output = phase_setup(rest[0], Path(rest[1]), int(rest[2]))
        elif phase == "calamine":
            output = phase_calamine(Path(rest[0]))
        elif phase == "copy":
            output = phase_copy(rest[0], Path(rest[1]))
        else:
            output = phase_import(rest[0], Path(rest[1]))
        print(json.dumps(output, default=str))
    else:
        main()
