"""Benchmark: readings import, anomaly scan and a month's billing run at scale.

    .venv/bin/python bench/readings_pipeline.py --meters 1000,10000 --days 730 \
        --databases sqlite,postgres

For each size and database: N reference meters (groups of 10 points, so 100,000 meters
bring 1,000,000 sub-accounts) and D days of daily readings written to a CSV; then
import-readings of the CSV, one anomaly scan as of the last day, and the billing run
of the last full month. The floor, measured in the same run: PostgreSQL COPY of the
same CSV into a plain table, and one SQL pass (a window function) over the readings.
Each phase runs in its own process, so its peak memory (max RSS) is its own.
Results go to bench/results/readings_pipeline.json and .md.
"""

from __future__ import annotations

import argparse
import csv
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
POINTS_PER_GROUP = 10
LAST_DAY = dt.date(2026, 11, 1)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def phase_setup(url: str, meters: int, days: int, csv_path: Path) -> dict:
    setup_django(url)
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from refmeter.billing.services import tariff_create
    from refmeter.organisations.models import SupplyUnit, UnitKind
    from refmeter.registry.models import (
        AccessPoint,
        Customer,
        DeviceType,
        Group,
        Point,
        TransformerArea,
    )

    call_command("migrate", interactive=False, verbosity=0)
    unit = SupplyUnit.objects.create(
        code="3350101",
        name="城南",
        kind=UnitKind.SERVICE_AREA,
        path="3350101/",
        account_prefix="1702",
    )
    area = TransformerArea.objects.create(unit=unit, number="3310000001", name="台区")
    place = AccessPoint.objects.create(number="33503000000000001", name="接入点", area=area)
    device = DeviceType.objects.create(name="楼道EPON设备", rated_watts=Decimal(400))
    customer = Customer.objects.create(unit=unit, name="客户", created_date=dt.date(2015, 1, 1))
    tariff_create(
        code="LV", name="单一制", effective_from=dt.date(2010, 1, 1), price=Decimal("0.658")
    )
    start = LAST_DAY - dt.timedelta(days=days - 1)
    groups = Group.objects.bulk_create(
        Group(
            unit=unit,
            customer=customer,
            device_type=device,
            tariff_code="LV",
            meter_asset_number=f"3310{index:09d}",
            meter_install_date=start,
            created_date=start,
        )
        for index in range(meters)
    )
    number = 0
    batch = []
    for group in groups:
        for position in range(POINTS_PER_GROUP):
            number += 1
            batch.append(
                Point(
                    group=group,
                    kind="base" if position == 0 else "sub",
                    account_number=f"17{number:08d}",
                    name="点位",
                    device_address="地址",
                    access_point=place,
                    area=area,
                    status="active",
                    active_from_date=start,
                )
            )
        if len(batch) >= 50_000:
            Point.objects.bulk_create(batch)
            batch = []
    Point.objects.bulk_create(batch)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["电能表资产编号", "冻结日期", "正向有功总", "反向有功总"])
        for index in range(meters):
            meter = f"3310{index:09d}"
            value = 1000.0 + index % 500
            daily = 3.0 + (index % 5)
            for offset in range(days):
                day = start + dt.timedelta(days=offset)
                if index % 97 == 0 and offset > days - 10:
                    daily = 0.0  # a few meters stop near the end
                writer.writerow([meter, day.isoformat(), f"{value:.2f}", "0"])
                value += daily
    return {
        "csv_mib": csv_path.stat().st_size / 2**20,
        "rows": meters * days,
        "sub_accounts": meters * (POINTS_PER_GROUP - 1),
        "at": str(timezone.now()),
    }


def phase_import(url: str, csv_path: Path, today: str = LAST_DAY.isoformat()) -> dict:
    """The file imported as ``refmeter import-readings`` imports it (on PostgreSQL a
    regular CSV goes by COPY and is checked by SQL)."""
    setup_django(url)
    from django.utils import timezone

    from refmeter.readings.services import readings_import_file

    started = time.perf_counter()
    with csv_path.open("rb") as handle:
        result = readings_import_file(
            actor=None,
            data=handle,
            file_name=csv_path.name,
            today=dt.date.fromisoformat(today),
            now=timezone.now(),
        )
    return {
        "seconds": time.perf_counter() - started,
        "created": result.created,
        "peak_mib": peak_mib(),
    }


def write_nightly(csv_path: Path, meters: int) -> Path:
    """One day after the history for every meter: the nightly file of the collection
    system."""
    nightly = csv_path.with_name("nightly.csv")
    day = (LAST_DAY + dt.timedelta(days=1)).isoformat()
    with nightly.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["电能表资产编号", "冻结日期", "正向有功总", "反向有功总"])
        for index in range(meters):
            writer.writerow([f"3310{index:09d}", day, f"{900000 + index % 500:.2f}", "0"])
    return nightly


def phase_scan(url: str) -> dict:
    setup_django(url)
    from django.utils import timezone

    from refmeter.anomalies.services import anomalies_scan

    started = time.perf_counter()
    result = anomalies_scan(as_of=LAST_DAY, now=timezone.now())
    return {
        "seconds": time.perf_counter() - started,
        "raised": result.as_dict()["raised"],
        "peak_mib": peak_mib(),
    }


def phase_bill(url: str) -> dict:
    setup_django(url)
    from django.utils import timezone

    from refmeter.billing.services import billing_run

    started = time.perf_counter()
    results = billing_run(actor=None, period="2026-10", now=timezone.now())
    bills = sum(result.bills for result in results)
    return {"seconds": time.perf_counter() - started, "bills": bills, "peak_mib": peak_mib()}


def phase_floor(url: str, csv_path: Path) -> dict:
    """COPY of the CSV into a plain table, then one window-function pass over it."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_floor")
        connection.execute(
            "CREATE TABLE bench_floor (meter text, day date, fwd numeric(14,2), rev numeric(14,2))"
        )
        with (
            csv_path.open("rb") as handle,
            connection.cursor().copy(
                "COPY bench_floor FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        copied = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute(
            "SELECT meter, MAX(CASE WHEN fwd = prev THEN day END) FROM ("
            "SELECT meter, day, fwd, LAG(fwd) OVER (PARTITION BY meter ORDER BY day) AS prev "
            "FROM bench_floor) x GROUP BY meter"
        ).fetchall()
        scanned = time.perf_counter() - started
        connection.execute("DROP TABLE bench_floor")
    return {"copy_seconds": copied, "sql_pass_seconds": scanned, "peak_mib": peak_mib()}


def run_phase(*arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "_phase", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"phase {arguments[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def ensure_postgres_database(url: str) -> None:
    """A new, empty benchmark database for each run."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", default="1000,10000")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--databases", default="sqlite,postgres")
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = []
    for meters in [int(value) for value in options.meters.split(",")]:
        for database in options.databases.split(","):
            with tempfile.TemporaryDirectory() as folder:
                csv_path = Path(folder) / "readings.csv"
                if database == "sqlite":  # a new file in a new folder: empty
                    url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
                else:
                    url = POSTGRES_URL
                    ensure_postgres_database(url)
                print(f"[{database} {meters}] setup ...", flush=True)
                setup = run_phase("setup", url, str(meters), str(options.days), str(csv_path))
                print(f"[{database} {meters}] import ...", flush=True)
                imported = run_phase("import", url, str(csv_path))
                print(f"[{database} {meters}] nightly file ...", flush=True)
                nightly_path = write_nightly(csv_path, meters)
                nightly = run_phase(
                    "import", url, str(nightly_path),
                    (LAST_DAY + dt.timedelta(days=1)).isoformat(),
                )  # fmt: skip
                print(f"[{database} {meters}] scan ...", flush=True)
                scanned = run_phase("scan", url)
                print(f"[{database} {meters}] bill ...", flush=True)
                billed = run_phase("bill", url)
                floor = (
                    run_phase("floor", POSTGRES_URL, str(csv_path))
                    if database == "postgres"
                    else None
                )
                runs.append(
                    {
                        "database": database,
                        "meters": meters,
                        "days": options.days,
                        "setup": setup,
                        "import": imported,
                        "nightly": nightly,
                        "scan": scanned,
                        "bill": billed,
                        "floor": floor,
                    }
                )
                print(json.dumps(runs[-1]), flush=True)
    write_report(runs)


def write_report(new_runs: list[dict]) -> None:
    """Merge these runs into the results file (a rerun of a size replaces it) and render it."""
    path = RESULTS / "readings_pipeline.json"
    previous = json.loads(path.read_text())["runs"] if path.exists() else []
    key = lambda run: (run["database"], run["meters"], run["days"])  # noqa: E731
    merged = {key(run): run for run in previous}
    merged.update({key(run): run for run in new_runs})
    runs = sorted(merged.values(), key=lambda run: (run["meters"], run["database"]))
    report = {
        "benchmark": "readings-pipeline",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": runs,
    }
    path.write_text(json.dumps(report, indent=2))
    lines = [
        "# readings pipeline benchmark",
        "",
        f"Last run {report['when']} on {report['machine']}. Groups of {POINTS_PER_GROUP} points; "
        "peak memory is the max RSS of the phase's own process.",
        "",
        "| database | meters | readings | import | floor: COPY | ratio | nightly file "
        "| anomaly scan | floor: SQL pass | billing run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        floor = run["floor"] or {}
        nightly = run.get("nightly")
        imported = run["import"]
        lines.append(
            f"| {run['database']} | {run['meters']:,} | {run['setup']['rows']:,} "
            f"| {imported['seconds']:.1f} s, {imported['peak_mib']:.0f} MiB "
            + (
                f"| {floor['copy_seconds']:.1f} s "
                f"| {imported['seconds'] / floor['copy_seconds']:.1f}× "
                if floor
                else "| — | — "
            )
            + (
                f"| {nightly['seconds']:.2f} s ({nightly['created']:,} rows) "
                if nightly
                else "| — "
            )
            + f"| {run['scan']['seconds']:.1f} s, {run['scan']['peak_mib']:.0f} MiB "
            + (f"| {floor['sql_pass_seconds']:.1f} s " if floor else "| — ")
            + f"| {run['bill']['seconds']:.1f} s, {run['bill']['peak_mib']:.0f} MiB |"
        )
    (RESULTS / "readings_pipeline.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_phase":
        phase, *rest = sys.argv[2:]
        if phase == "setup":
            output = phase_setup(rest[0], int(rest[1]), int(rest[2]), Path(rest[3]))
        elif phase == "import":
            output = phase_import(rest[0], Path(rest[1]), *rest[2:])
        elif phase == "scan":
            output = phase_scan(rest[0])
        elif phase == "bill":
            output = phase_bill(rest[0])
        else:
            output = phase_floor(rest[0], Path(rest[1]))
        print(json.dumps(output, default=str))
    else:
        main()
