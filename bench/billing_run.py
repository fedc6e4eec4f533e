"""Benchmark: a month's billing run beside the same bills computed by SQL alone.

    .venv/bin/python bench/billing_run.py --groups 1000,10000,100000

For each size, on PostgreSQL: N groups of 10 points in one supply unit (100,000 groups
bring 1,000,000 points). One group in ten is on time of use; the others are on a single
rate whose price changes on the 16th, so their bills have two stretches; one group in
thirteen has a CT ratio of 5; points join and leave in the middle of the month. Readings
exist on the three boundary days.

Phases, each in its own process (so its peak memory, max RSS, is its own):
- ``reference`` (up to 10,000 groups): the computation this one replaced, one Point and
  one BillPoint object a point (tests/billing/reference_bills.py);
- ``bill``: ``billing_run`` of the month into the emptied billing tables; ``again``: the
  same run recomputed (every bill updated, none changed);
- ``floor``: one SQL statement computing the same bills (point-days from the points'
  spans, time-of-use parts, JSON segments and multiplier spans) and inserting them, and
  one INSERT ... SELECT of the per-point detail, into tables LIKE the billing tables
  (same columns, checks and indexes, no foreign keys).

The bills of ``reference`` and ``bill`` are compared row by row by digest, and the floor's
bills with the run's, column by column. Results go to bench/results/billing_run.json and .md.
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
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refmeter_billing_bench"
)
POINTS_PER_GROUP = 10
MONTH = "2026-10"
START, MIDDLE, END = dt.date(2026, 10, 1), dt.date(2026, 10, 16), dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 5, 2, 0, tzinfo=dt.UTC)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def psycopg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://")


def phase_setup(url: str, groups: int) -> dict:
    setup_django(url)
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from refmeter.billing.services import tariff_create
    from refmeter.organisations.models import SupplyUnit, UnitKind
    from refmeter.readings.models import MeterReading
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
        code="3350101", name="城南", kind=UnitKind.SERVICE_AREA, path="3350101/",
        account_prefix="1702",
    )  # fmt: skip
    areas = [
        TransformerArea.objects.create(unit=unit, number=f"33100000{n:02d}", name=f"台区{n}")
        for n in range(10)
    ]
    places = [
        AccessPoint.objects.create(number=f"335030000000000{n:02d}", name="接入点", area=area)
        for n, area in enumerate(areas)
    ]
    device = DeviceType.objects.create(name="楼道EPON设备", rated_watts=Decimal(400))
    customers = [
        Customer.objects.create(unit=unit, name=f"客户{n}", created_date=dt.date(2015, 1, 1))
        for n in range(20)
    ]
    tariff_create(code="LV", name="单一制", effective_from=dt.date(2010, 1, 1),
                  price=Decimal("0.6580"))  # fmt: skip
    tariff_create(code="LV", name="调价", effective_from=MIDDLE, price=Decimal("0.7013"))
    tariff_create(code="TOU", name="分时", effective_from=dt.date(2010, 1, 1),
                  time_of_use={"sharp": Decimal("1.1"), "peak": Decimal("0.8123"),
                               "flat": Decimal("0.6"), "valley": Decimal("0.3071")})  # fmt: skip
    since = dt.date(2025, 1, 1)
    number = 0
    for first in range(0, groups, 10_000):
        made = Group.objects.bulk_create(
            Group(
                unit=unit,
                customer=customers[index % 20],
                device_type=device,
                tariff_code="TOU" if index % 10 == 0 else "LV",
                ct_ratio=5 if index % 13 == 0 else 1,
                meter_asset_number=f"3310{index:09d}",
                meter_install_date=since,
                created_date=since,
            )
            for index in range(first, min(groups, first + 10_000))
        )
        points, readings = [], []
        for group in made:
            index = int(group.meter_asset_number[4:])
            for position in range(POINTS_PER_GROUP):
                number += 1
                active_from, active_to, status = since, None, "active"
                if position == 9 and index % 7 == 0:  # joins during the month
                    active_from = START + dt.timedelta(days=1 + index % 28)
                if position == 8 and index % 11 == 0:  # leaves during the month
                    active_to, status = START + dt.timedelta(days=2 + index % 27), "cancelled"
                points.append(
                    Point(
                        group=group,
                        kind="base" if position == 0 else "sub",
                        account_number=f"17{number:08d}",
                        name="点位",
                        device_address="地址",
                        access_point=places[(index + position) % 10],
                        area=areas[(index + position) % 10],
                        status=status,
                        active_from_date=active_from,
                        active_to_date=active_to,
                    )
                )
            start = Decimal(1000 + index % 500) + Decimal("0.37")
            steps = [
                Decimal(0),
                Decimal("45.55") + Decimal(index % 17) * Decimal("1.13"),
                Decimal("95.76") + Decimal(index % 23) * Decimal("0.87"),
            ]
            for day, used in zip((START, MIDDLE, END), steps, strict=True):
                readings.append(
                    MeterReading(
                        group=group,
                        meter_asset_number=group.meter_asset_number,
                        reading_date=day,
                        forward_total=start + used,
                        reverse_total=0,
                        sharp=Decimal(100) + (used * Decimal("0.11")).quantize(Decimal("0.01")),
                        peak=Decimal(200) + (used * Decimal("0.29")).quantize(Decimal("0.01")),
                        flat=Decimal(300),
                        valley=Decimal(400) + (used * Decimal("0.23")).quantize(Decimal("0.01")),
                    )
                )
        Point.objects.bulk_create(points, batch_size=5000)
        MeterReading.objects.bulk_create(readings, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"groups": groups, "points": number}


def clear_bills(url: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as connection:
        connection.execute(
            "TRUNCATE billing_billpoint, billing_billrevision, billing_billadjustment, billing_bill, "
            "billing_billingrun"
        )


def phase_bill(url: str, way: str) -> dict:
    setup_django(url)
    from refmeter.billing.services import billing_run
    from refmeter.billing.services import runs as runs_module

    if way == "reference":
        from tests.billing import reference_bills

        runs_module.bills_compute = reference_bills.bills_compute  # type: ignore[assignment]
    started = time.perf_counter()
    [result] = billing_run(actor=None, period=MONTH, now=NOW)
    return {
        "seconds": time.perf_counter() - started,
        "bills": result.bills,
        "unbilled": result.unbilled,
        "total_amount": str(result.total_amount),
        "peak_mib": peak_mib(),
    }


DIGEST = """
SELECT md5(string_agg(line, '|' ORDER BY line)), COUNT(*) FROM (
    SELECT concat_ws(',', number, revision, status, kind, base_account_number, customer_name,
           tariff_code, period_start, period_end, ct_ratio, reading_start, reading_end,
           reference_energy, days, point_days, multiplier_spans::text, segments::text,
           billed_energy, energy_amount, adjustment_amount, total_amount) AS line
    FROM billing_bill
    UNION ALL
    SELECT concat_ws(',', b.number, p.account_number, p.name, p.area_number, p.active_days,
           p.energy)
    FROM billing_billpoint p JOIN billing_bill b ON b.id = p.bill_id
) rows
"""


def digest(url: str) -> dict:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as connection:
        value, rows = connection.execute(DIGEST).fetchone()
    return {"digest": value, "rows": rows}


FLOOR_BILLS = """
WITH g AS (
    SELECT id, ct_ratio, tariff_code, customer_id FROM registry_group
    WHERE created_date < %(end)s AND (status = 'running' OR closed_date > %(start)s)
), p AS (
    SELECT p.* FROM registry_point p JOIN g ON g.id = p.group_id
    WHERE p.active_from_date < %(end)s
      AND (p.active_to_date IS NULL OR p.active_to_date > %(start)s)
), prices AS (
    SELECT code, kind, price, sharp_price, peak_price, flat_price, valley_price,
           GREATEST(effective_from, %(start)s) AS a,
           LEAST(COALESCE(LEAD(effective_from) OVER (PARTITION BY code ORDER BY effective_from),
                          %(end)s), %(end)s) AS b
    FROM billing_tariff
), pieces AS (
    SELECT * FROM prices WHERE a < b
), point_days AS (
    SELECT p.group_id, s.a, SUM(GREATEST(0, LEAST(s.b, COALESCE(p.active_to_date, s.b))
                                         - GREATEST(s.a, p.active_from_date))) AS point_days
    FROM p JOIN g ON g.id = p.group_id JOIN pieces s ON s.code = g.tariff_code
    GROUP BY p.group_id, s.a
), lines AS (
    SELECT d.group_id, s.*, d.point_days, g.ct_ratio, s.b - s.a AS days,
           r1.forward_total AS f1, r2.forward_total AS f2,
           r2.forward_total - r1.forward_total AS total,
           ROUND((r2.forward_total - r1.forward_total) * g.ct_ratio * d.point_days
                 / (s.b - s.a), 2) AS billed,
           ROUND((r2.sharp - r1.sharp) * g.ct_ratio * d.point_days / (s.b - s.a), 2) AS c1,
           ROUND((r2.sharp - r1.sharp + r2.peak - r1.peak) * g.ct_ratio * d.point_days
                 / (s.b - s.a), 2) AS c2,
           ROUND((r2.sharp - r1.sharp + r2.peak - r1.peak + r2.valley - r1.valley)
                 * g.ct_ratio * d.point_days / (s.b - s.a), 2) AS c3
    FROM point_days d JOIN g ON g.id = d.group_id
    JOIN pieces s ON s.code = g.tariff_code AND s.a = d.a
    JOIN readings_meterreading r1 ON r1.group_id = d.group_id AND r1.reading_date = s.a
    JOIN readings_meterreading r2 ON r2.group_id = d.group_id AND r2.reading_date = s.b
), priced AS (
    SELECT *, CASE WHEN kind = 'single' THEN ROUND(billed * price, 2)
                   ELSE ROUND(c1 * sharp_price, 2) + ROUND((c2 - c1) * peak_price, 2)
                        + ROUND((billed - c3) * flat_price, 2)
                        + ROUND((c3 - c2) * valley_price, 2) END AS amount
    FROM lines
), events AS (
    SELECT group_id, day, SUM(delta) AS delta FROM (
        SELECT group_id, active_from_date AS day, 1 AS delta FROM p
        UNION ALL
        SELECT group_id, active_to_date, -1 FROM p WHERE active_to_date IS NOT NULL
    ) e GROUP BY group_id, day
), levels AS (
    SELECT group_id, day, SUM(delta) OVER w AS level, LEAD(day) OVER w AS next_day
    FROM events WINDOW w AS (PARTITION BY group_id ORDER BY day)
), merged AS (
    SELECT *, LAG(level) OVER (PARTITION BY group_id ORDER BY day) AS previous FROM levels
), spans AS (
    SELECT group_id, day, level,
           LEAD(day) OVER (PARTITION BY group_id ORDER BY day) AS until
    FROM merged WHERE previous IS NULL OR previous <> level
), multiplier AS (
    SELECT group_id, jsonb_agg(jsonb_build_object(
               'from', to_char(GREATEST(day, %(start)s), 'YYYY-MM-DD'),
               'to', to_char(LEAST(COALESCE(until, %(end)s), %(end)s), 'YYYY-MM-DD'),
               'multiplier', level) ORDER BY day) AS spans
    FROM spans
    WHERE (level <> 0 OR until IS NOT NULL) AND (until IS NULL OR until > %(start)s)
      AND day < %(end)s
    GROUP BY group_id
), base AS (
    SELECT group_id, MIN(account_number) AS account_number FROM p WHERE kind = 'base'
    GROUP BY group_id
)
INSERT INTO {bill} (run_id, group_id, number, revision, status, kind, base_account_number,
    customer_name, tariff_code, period_start, period_end, ct_ratio, reading_start,
    reading_end, reference_energy, days, point_days, multiplier_spans, segments,
    billed_energy, energy_amount, adjustment_amount, total_amount)
SELECT %(run)s, l.group_id, %(prefix)s || base.account_number, 1, 'issued', 'regular',
       base.account_number, c.name, MAX(l.code), %(start)s, %(end)s, MAX(l.ct_ratio),
       MIN(l.f1), MAX(l.f2), SUM(l.total * l.ct_ratio), %(days)s, SUM(l.point_days),
       m.spans,
       jsonb_agg(jsonb_build_object(
           'from', to_char(l.a, 'YYYY-MM-DD'), 'to', to_char(l.b, 'YYYY-MM-DD'),
           'days', l.days, 'ct_ratio', l.ct_ratio, 'reading_start', l.f1::text,
           'reading_end', l.f2::text, 'reference_energy', (l.total * l.ct_ratio)::text,
           'point_days', l.point_days, 'billed_energy', l.billed::text, 'tariff', l.code,
           'prices', CASE WHEN l.kind = 'single' THEN jsonb_build_object('price', l.price::text)
                     ELSE jsonb_build_object('sharp', l.sharp_price::text,
                         'peak', l.peak_price::text, 'flat', l.flat_price::text,
                         'valley', l.valley_price::text) END,
           'registers', CASE WHEN l.kind = 'single' THEN '{}'::jsonb
                        ELSE jsonb_build_object('sharp', l.c1::text,
                            'peak', (l.c2 - l.c1)::text, 'flat', (l.billed - l.c3)::text,
                            'valley', (l.c3 - l.c2)::text) END,
           'amount', l.amount::text) ORDER BY l.a),
       SUM(l.billed), SUM(l.amount), 0, SUM(l.amount)
FROM priced l JOIN g ON g.id = l.group_id JOIN registry_customer c ON c.id = g.customer_id
JOIN base ON base.group_id = l.group_id JOIN multiplier m ON m.group_id = l.group_id
GROUP BY l.group_id, base.account_number, c.name, m.spans
"""

FLOOR_DETAIL = """
INSERT INTO {billpoint} (bill_id, account_number, name, area_number, active_days, energy)
SELECT bill_id, account_number, name, area_number, days,
       ROUND(reference_energy * days / bill_days, 2)
FROM (
    SELECT b.id AS bill_id, p.account_number, p.name, COALESCE(a.number, '') AS area_number,
           LEAST(b.period_end, COALESCE(p.active_to_date, b.period_end))
           - GREATEST(b.period_start, p.active_from_date) AS days,
           b.reference_energy, b.days AS bill_days
    FROM {bill} b JOIN registry_point p ON p.group_id = b.group_id
    LEFT JOIN registry_transformerarea a ON a.id = p.area_id
    WHERE b.run_id = %(run)s AND p.active_from_date < b.period_end
      AND (p.active_to_date IS NULL OR p.active_to_date > b.period_start)
) detail WHERE days > 0
"""

COMPARE = """
SELECT COUNT(*) FILTER (WHERE b.id IS NOT NULL AND f.id IS NOT NULL
           AND b.number = 'DF202610-' || f.base_account_number
           AND b.billed_energy = f.billed_energy AND b.energy_amount = f.energy_amount
           AND b.point_days = f.point_days AND b.reference_energy = f.reference_energy
           AND b.reading_start = f.reading_start AND b.reading_end = f.reading_end
           AND b.segments = f.segments AND b.multiplier_spans = f.multiplier_spans),
       COUNT(*)
FROM (SELECT * FROM billing_bill WHERE run_id = %(billed)s) b
FULL JOIN (SELECT * FROM {bill} WHERE run_id = %(run)s) f ON f.group_id = b.group_id
"""

DETAIL_ROWS = """
SELECT b.group_id, p.account_number, p.area_number, p.active_days, p.energy
FROM {billpoint} p JOIN {bill} b ON b.id = p.bill_id WHERE b.run_id = %(run)s
"""

OURS = (
    DETAIL_ROWS.replace("{bill}", "billing_bill")
    .replace("{billpoint}", "billing_billpoint")
    .replace("%(run)s", "%(billed)s")
)
COMPARE_DETAIL = (
    f"SELECT COUNT(*) FROM (({OURS} EXCEPT ALL {DETAIL_ROWS}) "
    f"UNION ALL ({DETAIL_ROWS} EXCEPT ALL {OURS})) differences"
)


def _tables(sql: str, tables: dict[str, str]) -> str:
    for name, table in tables.items():
        sql = sql.replace("{" + name + "}", table)
    return sql


def _floor_once(connection, *, bill: str, billpoint: str, run: int, billed: int) -> dict:
    values = {"start": START, "end": END, "days": (END - START).days, "run": run,
              "prefix": "FL202610-", "billed": billed}  # fmt: skip
    tables = {"bill": bill, "billpoint": billpoint}
    started = time.perf_counter()
    bills = connection.execute(_tables(FLOOR_BILLS, tables), values).rowcount
    detail = connection.execute(_tables(FLOOR_DETAIL, tables), values).rowcount
    connection.commit()
    seconds = time.perf_counter() - started
    same, compared = connection.execute(_tables(COMPARE, tables), values).fetchone()
    differences = connection.execute(_tables(COMPARE_DETAIL, tables), values).fetchone()[0]
    started = time.perf_counter()
    read_only = FLOOR_BILLS.split("INSERT INTO", 1)[0] + "SELECT COUNT(*) FROM priced"
    connection.execute(read_only, values).fetchone()
    return {
        "seconds": seconds, "reads_seconds": time.perf_counter() - started, "bills": bills,
        "detail_rows": detail, "bills_identical": same, "bills_compared": compared,
        "detail_differences": differences,
    }  # fmt: skip


def phase_floor(url: str) -> dict:
    """The floor twice: into tables LIKE the billing tables (same columns, checks and
    indexes, no foreign keys), and into the billing tables themselves (as another run,
    with their foreign keys checked at commit, as the billing run's are)."""
    import psycopg

    with psycopg.connect(psycopg_url(url)) as connection:
        billed, unit = connection.execute(
            "SELECT id, unit_id FROM billing_billingrun WHERE period_start = %s", [START]
        ).fetchone()
        for table in ("floor_bill", "floor_billpoint"):
            connection.execute(f"DROP TABLE IF EXISTS {table}")
            source = "billing_bill" if table == "floor_bill" else "billing_billpoint"
            connection.execute(f"CREATE TABLE {table} (LIKE {source} INCLUDING ALL)")
        run = connection.execute(
            "INSERT INTO billing_billingrun (unit_id, period_start, period_end, status, "
            "computed_at, problems) VALUES (%s, %s, %s, 'open', now(), '[]') RETURNING id",
            [unit, dt.date(1999, 1, 1), dt.date(1999, 2, 1)],
        ).fetchone()[0]
        connection.commit()
        # The planner's row estimates for the statement's many CTEs are far too low (one
        # row where there are 19,000), and it then joins them by nested loops: 25 s
        # instead of 0.5 s at 10,000 groups. The floor is the statement at its best.
        connection.execute("SET enable_nestloop = off")
        plain = _floor_once(
            connection, bill="floor_bill", billpoint="floor_billpoint", run=run, billed=billed
        )
        real = _floor_once(
            connection, bill="billing_bill", billpoint="billing_billpoint", run=run,
            billed=billed,
        )  # fmt: skip
        connection.execute(
            "DELETE FROM billing_billpoint WHERE bill_id IN "
            "(SELECT id FROM billing_bill WHERE run_id = %s)", [run]
        )  # fmt: skip
        connection.execute("DELETE FROM billing_bill WHERE run_id = %s", [run])
        connection.execute("DELETE FROM billing_billingrun WHERE id = %s", [run])
        connection.execute("DROP TABLE floor_bill, floor_billpoint")
        connection.commit()
    return {"plain_tables": plain, "billing_tables": real, "peak_mib": peak_mib()}


def run_phase(*arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "_phase", *arguments], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"phase {arguments[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def ensure_postgres_database(url: str) -> None:
    """A new, empty benchmark database for each size."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = psycopg_url(url.rsplit("/", 1)[0]) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", default="1000,10000,100000")
    parser.add_argument("--reference-up-to", type=int, default=10_000)
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = []
    for groups in [int(value) for value in options.groups.split(",")]:
        url = POSTGRES_URL
        ensure_postgres_database(url)
        print(f"[{groups}] setup ...", flush=True)
        setup = run_phase("setup", url, str(groups))
        reference = reference_digest = None
        if groups <= options.reference_up_to:
            print(f"[{groups}] reference ...", flush=True)
            reference = run_phase("bill", url, "reference")
            reference_digest = digest(url)
            clear_bills(url)
        print(f"[{groups}] bill ...", flush=True)
        billed = run_phase("bill", url, "new")
        billed_digest = digest(url)
        print(f"[{groups}] again ...", flush=True)
        again = run_phase("bill", url, "new")
        again_digest = digest(url)
        print(f"[{groups}] floor ...", flush=True)
        floor = run_phase("floor", url)
        runs.append(
            {
                "groups": groups,
                "points": setup["points"],
                "reference": reference,
                "bill": billed,
                "again": again,
                "floor": floor,
                "same_as_reference": None
                if reference_digest is None
                else reference_digest == billed_digest,
                "recompute_unchanged": billed_digest == again_digest,
                "rows_compared": billed_digest["rows"],
            }
        )
        print(json.dumps(runs[-1]), flush=True)
    write_report(runs)


def write_report(new_runs: list[dict]) -> None:
    """Merge these runs into the results file (a rerun of a size replaces it) and render it."""
    path = RESULTS / "billing_run.json"
    previous = json.loads(path.read_text())["runs"] if path.exists() else []
    merged = {run["groups"]: run for run in previous}
    merged.update({run["groups"]: run for run in new_runs})
    runs = [merged[key] for key in sorted(merged)]
    load = os.getloadavg()
    report = {
        "benchmark": "billing-run",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_after": [round(value, 1) for value in load],
        "runs": runs,
    }
    path.write_text(json.dumps(report, indent=2))
    lines = [
        "# billing run benchmark: one unit's month on PostgreSQL, beside the same bills by SQL",
        "",
        f"Last run {report['when']} on {report['machine']}; load average after the run "
        f"{', '.join(str(v) for v in report['load_after'])}. Groups of {POINTS_PER_GROUP} "
        "points; peak memory is the max RSS of the phase's own process. The floor is one SQL "
        "statement computing and inserting the same bills plus one INSERT ... SELECT of the "
        "per-point detail, committed: into the billing tables themselves (as another run: "
        "the same indexes, and the foreign keys checked at commit), and into tables of the "
        "same columns, checks and indexes without foreign keys.",
        "",
        "| groups | points | before (reference) | billing run | recomputed "
        "| floor: statement + writes | ratio | floor without foreign keys | ratio "
        "| floor reads only |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        reference = run["reference"]
        real, plain = run["floor"]["billing_tables"], run["floor"]["plain_tables"]
        seconds = run["bill"]["seconds"]
        lines.append(
            f"| {run['groups']:,} | {run['points']:,} "
            + (
                f"| {reference['seconds']:.2f} s, {reference['peak_mib']:.0f} MiB "
                if reference
                else "| — "
            )
            + f"| {seconds:.2f} s, {run['bill']['peak_mib']:.0f} MiB "
            f"| {run['again']['seconds']:.2f} s, {run['again']['peak_mib']:.0f} MiB "
            f"| {real['seconds']:.2f} s | {seconds / real['seconds']:.1f}× "
            f"| {plain['seconds']:.2f} s | {seconds / plain['seconds']:.1f}× "
            f"| {real['reads_seconds']:.2f} s |"
        )
    lines += ["", "What was compared:", ""]
    for run in runs:
        floor = run["floor"]["billing_tables"]
        same = run["same_as_reference"]
        lines.append(
            f"- {run['groups']:,} groups: {run['bill']['bills']:,} bills; "
            + (
                "every bill and per-point row identical to the reference computation "
                f"({run['rows_compared']:,} rows by digest); "
                if same
                else ("DIFFERENT from the reference; " if same is False else "")
            )
            + f"floor bills identical in every figure, segment and multiplier span: "
            f"{floor['bills_identical']:,} of {floor['bills_compared']:,}; per-point rows "
            f"differing from the floor's: {floor['detail_differences']:,}; recomputing "
            + ("changed nothing." if run["recompute_unchanged"] else "CHANGED the bills.")
        )
    (RESULTS / "billing_run.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_phase":
        phase, *rest = sys.argv[2:]
        if phase == "setup":
            output = phase_setup(rest[0], int(rest[1]))
        elif phase == "bill":
            output = phase_bill(rest[0], rest[1])
        else:
            output = phase_floor(rest[0])
        print(json.dumps(output, default=str))
    else:
        main()
