"""Benchmark: the anomaly scan, full rescan and nightly, against the scan before, on PostgreSQL.

    .venv/bin/python bench/anomaly_scan.py --meters 1000,10000 --days 730

For each size: N reference meters (two device types) and D days of daily readings written
by SQL straight into the readings table (the import is measured by
bench/readings_pipeline.py), with meters that stop, read zero, run fast or go unread for
days. Then, each phase in its own process (so its peak memory, max RSS, is its own):

- before: the scan as it was (tests/anomalies/legacy_scan.py: two statements over the
  window) as of the day before the last, the last day's readings added, and again as of the
  last day;
- full: the new scan's full rescan as of the day before the last (``full=True``);
- nightly: the last day's readings added, the new scan as of the last day (from its run
  state: only the new day and each meter's 31 readings before it are read);
- full again: a full rescan as of the last day on the same data, which must change nothing;
- floors, in the same run: one SQL pass with a window function (LAG) over the readings of
  the full scan's days (the window and its 31 days of look-back), and the same pass over
  the nightly scan's days (the last 32 days).

The cases of the scan before and of the new one (full, then nightly) are compared case by
case (kind, meter, status, dates, evidence). Results go to bench/results/anomaly_scan.json
and .md.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refmeter_anomaly_bench"
)
LAST_DAY = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# Readings of every meter for days %(from_offset)s to %(to_offset)s (offsets from the first
# day), all in SQL. The register grows 3 to 7 kWh a day; near the end, meter n:
#   n % 97 = 0 stops for the last 10 days, n % 89 = 0 reads zero for the last 6,
#   n % 83 = 0 runs fast (40 kWh a day) for the last 8, n % 79 = 0 grows its reverse
#   register for the last 4, n % 73 = 0 goes down for the last 3, n % 14 = 3 has
#   time-of-use registers that do not add up for the last 5 (n % 7 = 3 has them right),
#   and n % 101 = 0 is not read on days 400-404 nor on the last 4 days.
_READINGS = """
INSERT INTO readings_meterreading
  (group_id, meter_asset_number, reading_date, forward_total, reverse_total,
   sharp, peak, flat, valley)
SELECT g.id, g.meter_asset_number, %(first)s::date + o,
       CASE WHEN n %% 89 = 0 AND o > %(days)s - 7 THEN 0 ELSE fwd END,
       CASE WHEN n %% 79 = 0 THEN 0.5 * GREATEST(0, o - (%(days)s - 5)) ELSE 0 END,
       CASE WHEN n %% 7 = 3 THEN round(fwd * 0.1, 2) END,
       CASE WHEN n %% 7 = 3 THEN round(fwd * 0.3, 2) END,
       CASE WHEN n %% 7 = 3 THEN round(fwd * 0.4, 2) END,
       CASE WHEN n %% 7 = 3 THEN fwd - round(fwd * 0.1, 2) - round(fwd * 0.3, 2)
            - round(fwd * 0.4, 2) + CASE WHEN n %% 14 = 3 AND o > %(days)s - 6
                                          THEN 2 ELSE 0 END END
FROM (
  SELECT g.id, g.meter_asset_number, substr(g.meter_asset_number, 5)::int AS n
  FROM registry_group g
) g
CROSS JOIN generate_series(%(from_offset)s, %(to_offset)s) AS o
CROSS JOIN LATERAL (
  SELECT (1000 + n %% 500
          + (3 + n %% 5) * LEAST(o, CASE WHEN n %% 97 = 0 THEN %(days)s - 10 ELSE o END)
          + CASE WHEN n %% 83 = 0 THEN 37 * GREATEST(0, o - (%(days)s - 9)) ELSE 0 END
          - CASE WHEN n %% 73 = 0 THEN 10 * GREATEST(0, o - (%(days)s - 4)) ELSE 0 END
         )::numeric(14, 2) AS fwd
) f
WHERE NOT (n %% 101 = 0 AND (o BETWEEN 400 AND 404 OR o > %(days)s - 5))
"""


def _add_readings(first: dt.date, days: int, from_offset: int, to_offset: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            _READINGS,
            {"first": first, "days": days, "from_offset": from_offset, "to_offset": to_offset},
        )


def phase_setup(url: str, meters: int, days: int) -> dict:
    setup_django(url)
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from refmeter.organisations.models import SupplyUnit, UnitKind
    from refmeter.registry.models import Customer, DeviceType, Group

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    unit = SupplyUnit.objects.create(
        code="3350101", name="城南", kind=UnitKind.SERVICE_AREA, path="3350101/",
        account_prefix="1702",
    )  # fmt: skip
    devices = [
        DeviceType.objects.create(name="楼道EPON设备", rated_watts=Decimal(400)),
        DeviceType.objects.create(name="监控摄像头", rated_watts=Decimal(300)),
    ]
    customer = Customer.objects.create(unit=unit, name="客户", created_date=dt.date(2015, 1, 1))
    first = LAST_DAY - dt.timedelta(days=days - 1)
    Group.objects.bulk_create(
        (
            Group(
                unit=unit,
                customer=customer,
                device_type=devices[index % 2],
                tariff_code="LV",
                meter_asset_number=f"3310{index:09d}",
                meter_install_date=first,
                created_date=first,
            )
            for index in range(meters)
        ),
        batch_size=5000,
    )
    _add_readings(first, days, 0, days - 2)  # every day but the last
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT COUNT(*) FROM readings_meterreading")
        rows = cursor.fetchone()[0]
    return {"seconds": time.perf_counter() - started, "readings": rows}


def _cases() -> list:
    from refmeter.anomalies.models import AnomalyCase

    return sorted(
        [
            case.kind,
            case.meter_asset_number,
            case.status,
            str(case.condition_since),
            str(case.raised_on),
            str(case.last_seen_on),
            str(case.cleared_on),
            sorted(case.evidence.items()),
        ]
        for case in AnomalyCase.objects.all()
    )


def _by_kind(cases: list) -> dict[str, int]:
    counted: dict[str, int] = {}
    for case in cases:
        counted[case[0]] = counted.get(case[0], 0) + 1
    return dict(sorted(counted.items()))


def phase_add_day(url: str, days: int) -> dict:
    setup_django(url)
    first = LAST_DAY - dt.timedelta(days=days - 1)
    started = time.perf_counter()
    _add_readings(first, days, days - 1, days - 1)
    return {"seconds": time.perf_counter() - started}


def phase_reset(url: str) -> dict:
    """Back to the state before any scan: no cases, no run state, no last day."""
    setup_django(url)
    from django.db import connection

    from refmeter.anomalies.models import AnomalyCase
    from refmeter.anomalies.services.scan import scan_state_forget

    AnomalyCase.objects.all().delete()
    scan_state_forget()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM readings_meterreading WHERE reading_date = %s", [LAST_DAY])
    return {}


def phase_scan(url: str, scanner: str, as_of: str, cases_path: str) -> dict:
    setup_django(url)
    day = dt.date.fromisoformat(as_of)
    started = time.perf_counter()
    outcome: dict = {}
    if scanner == "before":
        from tests.anomalies.legacy_scan import legacy_scan

        legacy_scan(as_of=day, now=NOW)
    else:
        from refmeter.anomalies.services import anomalies_scan

        result = anomalies_scan(as_of=day, now=NOW, full=scanner == "full")
        outcome = {"full": result.full, "full_because": result.full_because}
    seconds = time.perf_counter() - started
    cases = _cases()
    if cases_path:
        Path(cases_path).write_text(json.dumps(cases))
    return {"seconds": seconds, "peak_mib": peak_mib(), "by_kind": _by_kind(cases), **outcome}


def phase_floor(url: str, since: str) -> dict:
    """One window-function pass over the readings from a day."""
    setup_django(url)
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(
            "SELECT meter, MAX(CASE WHEN fwd = prev THEN day END) FROM ("
            "SELECT meter_asset_number AS meter, reading_date AS day, forward_total AS fwd, "
            "LAG(forward_total) OVER (PARTITION BY meter_asset_number ORDER BY reading_date) "
            "AS prev FROM readings_meterreading WHERE reading_date >= %s) x GROUP BY meter",
            [dt.date.fromisoformat(since)],
        )
        cursor.fetchall()
    return {"seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


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
    """A new, empty benchmark database for each size."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def run_size(meters: int, days: int, work: Path) -> dict:
    url = POSTGRES_URL
    ensure_postgres_database(url)
    before_day, last = (LAST_DAY - dt.timedelta(days=1)).isoformat(), LAST_DAY.isoformat()
    run: dict = {"meters": meters, "days": days, "database": "postgresql"}
    run["setup"] = run_phase("setup", url, str(meters), str(days))
    before_cases, new_cases, again_cases = (work / f"{name}.json" for name in ("a", "b", "c"))
    run["before_full"] = run_phase("scan", url, "before", before_day, "")
    run_phase("add_day", url, str(days))
    run["before_nightly"] = run_phase("scan", url, "before", last, str(before_cases))
    run_phase("reset", url)
    run["full"] = run_phase("scan", url, "full", before_day, "")
    run["add_day"] = run_phase("add_day", url, str(days))
    run["nightly"] = run_phase("scan", url, "nightly", last, str(new_cases))
    run["full_again"] = run_phase("scan", url, "full", last, str(again_cases))
    window_start = LAST_DAY - dt.timedelta(days=400 + 31)
    run["floor_full"] = run_phase("floor", url, (window_start - dt.timedelta(days=1)).isoformat())
    run["floor_nightly"] = run_phase("floor", url, (LAST_DAY - dt.timedelta(days=32)).isoformat())
    before = json.loads(before_cases.read_text())
    new = json.loads(new_cases.read_text())
    again = json.loads(again_cases.read_text())
    run["cases"] = {
        "before": len(before),
        "new": len(new),
        "identical": before == new,
        "full_again_identical": again == new,
        "by_kind": _by_kind(new),
    }
    return run


def write_report(runs: list[dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    report = {
        "benchmark": "anomaly_scan",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
    }
    (RESULTS / "anomaly_scan.json").write_text(json.dumps(report, indent=2))
    lines = [
        "# Anomaly scan: full rescan and nightly (PostgreSQL)",
        "",
        f"Measured {report['measured_at']} on {os.cpu_count()} cores shared with other work; "
        "`bench/anomaly_scan.py`. Each figure is beside its floor (one window-function pass "
        "over the same days of readings) and the ratio; peak memory is the max RSS of the "
        "phase's process.",
        "",
        "| meters | readings | scan | time | peak memory | floor | ratio | before (old scan) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        rows = run["setup"]["readings"]
        for label, key, floor, before in (
            ("full rescan", "full", "floor_full", "before_full"),
            ("nightly (one new day)", "nightly", "floor_nightly", "before_nightly"),
            ("full rescan, last day", "full_again", "floor_full", "before_nightly"),
        ):
            figure = run[key]
            floor_seconds = run[floor]["seconds"]
            lines.append(
                f"| {run['meters']:,} | {rows:,} | {label} | {figure['seconds']:.2f} s | "
                f"{figure['peak_mib']:.0f} MiB | {floor_seconds:.2f} s | "
                f"{figure['seconds'] / floor_seconds:.1f}× | {run[before]['seconds']:.2f} s |"
            )
    lines += [
        "",
        "Cases raised (the new scan, full rescan then nightly, against the old scan):",
        "",
    ]
    for run in runs:
        cases = run["cases"]
        lines.append(
            f"- {run['meters']:,} meters: {cases['new']:,} cases, old scan {cases['before']:,}; "
            f"identical case by case (kind, meter, status, dates, evidence): "
            f"{'yes' if cases['identical'] else 'NO'}; the full rescan of the last day changed "
            f"nothing: {'yes' if cases['full_again_identical'] else 'NO'}; by kind "
            + ", ".join(f"{kind} {count:,}" for kind, count in cases["by_kind"].items())
            + f". The nightly scan ran from its run state: "
            f"{'yes' if not run['nightly']['full'] else 'no (' + run['nightly']['full_because'] + ')'}."
        )
    (RESULTS / "anomaly_scan.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", default="1000,10000")
    parser.add_argument("--days", type=int, default=730)
    arguments = parser.parse_args()
    work = ROOT / "var" / "bench-anomaly-scan"
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for meters in (int(value) for value in arguments.meters.split(",")):
        runs.append(run_size(meters, arguments.days, work))
        print(json.dumps(runs[-1], default=str), flush=True)
        write_report(runs)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_phase":
        phase, *rest = sys.argv[2:]
        if phase == "setup":
            output = phase_setup(rest[0], int(rest[1]), int(rest[2]))
        elif phase == "add_day":
            output = phase_add_day(rest[0], int(rest[1]))
        elif phase == "reset":
            output = phase_reset(rest[0])
        elif phase == "scan":
            output = phase_scan(rest[0], rest[1], rest[2], rest[3])
        else:
            output = phase_floor(rest[0], rest[1])
        print(json.dumps(output, default=str))
    else:
        main()
