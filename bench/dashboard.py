"""Benchmark: the managers' dashboard on the demo city: each trend series' query, the twelve
months of trend together, and the whole page, in server time, beside a floor of the same run.

    .venv/bin/python bench/dashboard.py [--runs 30] [--note TEXT]

It drops and creates the database of ``BENCH_POSTGRES_URL`` (default
postgres://postgres@127.0.0.1:5432/refmeter_dashboard_bench), migrates it, loads the demo
city (``refmeter load-demo``) and takes the planner statistics, then as the company-level
manager of the demo (``manager``) and as the company administrator choosing the 城南 service
area (``?unit=``) times ``--runs`` calls of each series, of ``dashboard_trends`` and of the
whole page through Django's test client. The floor is one point read by its primary key
through the ORM and, for the page, the health check page through the same client (it
reads the database and the migrations; without a worker it answers 503).

Results go to bench/results/dashboard.json and bench/results/dashboard.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refmeter_dashboard_bench"
)
TARGET_MS = 300.0


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    server = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def load_demo(database_url: str) -> float:
    env = {**os.environ, "DATABASE_URL": database_url}
    refmeter = str(Path(sys.executable).with_name("refmeter"))
    start = time.perf_counter()
    for arguments in (["migrate", "--noinput", "-v", "0"], ["load-demo", "--format", "json"]):
        subprocess.run([refmeter, *arguments], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the test client's host
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def timed(work: Callable[[], object], runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    work()  # warm: the first call pays for imports and the connection
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        work()
    times.sort()
    return {
        "runs": runs,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "queries": len(queries.captured_queries),
    }


def measure(runs: int) -> dict:
    from django.test import Client
    from django.utils import timezone

    from refmeter.dashboard import trends as trend_module
    from refmeter.organisations.models import SupplyUnit, User
    from refmeter.registry.models import Point

    today = timezone.localdate()
    months = trend_module.trend_months(today)
    manager = User.objects.get(username="manager")
    admin = User.objects.get(username="admin")
    area = SupplyUnit.objects.filter(name__contains="城南").order_by("path").first()
    assert area is not None, "the demo city has no 城南 service area"
    unit = manager.unit or area
    point_pk = Point.objects.order_by("pk").values_list("pk", flat=True).first()

    series: dict[str, Callable[[], object]] = {
        "active points by customer": lambda: trend_module.active_points_by_customer(
            unit=unit, months=months, today=today
        ),
        "points added and cancelled": lambda: trend_module.points_added_and_cancelled(
            unit=unit, months=months
        ),
        "anomaly cases": lambda: trend_module.anomaly_cases(unit=unit, months=months, today=today),
        "line-loss classes": lambda: trend_module.lineloss_classes(unit=unit, months=months),
        "inspections against plan": lambda: trend_module.inspections_against_plan(
            unit=unit, months=months, today=today
        ),
        "archives on time": lambda: trend_module.archives_on_time(unit=unit, months=months),
    }
    manager_client = Client()
    manager_client.force_login(manager)
    admin_client = Client()
    admin_client.force_login(admin)

    def page(client: Client, path: str, answers: tuple[int, ...] = (200,)) -> Callable[[], object]:
        def get() -> object:
            response = client.get(path)
            assert response.status_code in answers, (path, response.status_code)
            return response

        return get

    result = {
        "unit": unit.name,
        "floor_point_read": timed(lambda: Point.objects.get(pk=point_pk), runs),
        # No worker runs here: the health check answers 503 after the same checks.
        "floor_page": timed(page(manager_client, "/healthz", (200, 503)), runs),
        "series": {name: timed(work, runs) for name, work in series.items()},
        "trends_manager": timed(
            lambda: trend_module.dashboard_trends(user=manager, today=today), runs
        ),
        "trends_admin_chooses_area": timed(
            lambda: trend_module.dashboard_trends(user=admin, today=today, unit_id=area.pk), runs
        ),
        "page_manager": timed(page(manager_client, "/dashboard/"), runs),
        "page_admin_chooses_area": timed(page(admin_client, f"/dashboard/?unit={area.pk}"), runs),
    }
    return result


def write(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    m = report["measured"]

    def row(name: str, figures: dict) -> str:
        return (
            f"| {name} | {figures['p50_ms']} | {figures['p95_ms']} | {figures['max_ms']} | "
            f"{figures['queries']} |"
        )

    lines = [
        "# dashboard benchmark: twelve months of trend on the demo city",
        "",
        f"Run {report['run_at']} on {report['machine']}; load average before the run "
        f"{report['load_before']}. {report['note']}".rstrip(),
        "",
        "PostgreSQL, the demo city loaded by `refmeter load-demo` "
        + (f"({report['load_seconds']} s, " if report["load_seconds"] else "(an earlier run's, ")
        + f"then `VACUUM ANALYZE`); {report['runs']} timed calls each after one warm-up, server "
        "time in process (Django's test client for pages); queries counted on one more call. "
        f"Series are those of {m['unit']}.",
        "",
        "| measured | p50 ms | p95 ms | max ms | queries |",
        "|---|---|---|---|---|",
        row("floor: one point read by primary key", m["floor_point_read"]),
        row("floor: health check page", m["floor_page"]),
    ]
    lines += [row(f"series: {name}", figures) for name, figures in m["series"].items()]
    lines += [
        row("twelve months of trend, manager", m["trends_manager"]),
        row("twelve months of trend, administrator choosing 城南", m["trends_admin_chooses_area"]),
        row("dashboard page, manager", m["page_manager"]),
        row("dashboard page, administrator choosing 城南", m["page_admin_chooses_area"]),
        "",
    ]
    worst = max(m["trends_manager"]["p95_ms"], m["trends_admin_chooses_area"]["p95_ms"])
    verdict = "met" if worst <= TARGET_MS else "not met"
    lines.append(
        f"Target: the trend charts within {TARGET_MS:.0f} ms server time on the demo city: "
        f"**{verdict}** (p95 of the twelve months of trend {worst} ms)."
    )
    (RESULTS / "dashboard.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--note", default="", help="a remark on the machine's load, reported")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database an earlier run loaded"
    )
    options = parser.parse_args()
    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    load_seconds = None
    if not options.reuse:
        recreate_database(POSTGRES_URL)
        print("loading the demo city ...", flush=True)
        load_seconds = round(load_demo(POSTGRES_URL), 1)
    django_setup(POSTGRES_URL)
    measured = measure(options.runs)
    report = {
        "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": load_before,
        "note": options.note,
        "load_seconds": load_seconds,
        "runs": options.runs,
        "measured": measured,
    }
    write(report)
    print((RESULTS / "dashboard.md").read_text())


if __name__ == "__main__":
    main()
