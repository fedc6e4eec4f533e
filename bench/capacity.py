"""Benchmark: how many requests a second one app server holds, page by page.

    .venv/bin/python bench/capacity.py [--workers 2] [--rates 50,100,200,300]
        [--duration 10] [--label after] [--server postgres://postgres@127.0.0.1:5432]

What it does, all on 127.0.0.1:

1. Creates a fresh PostgreSQL database (``--database``, default refmeter_capacity_bench;
   dropped first if it exists), migrates it, collects the static files and loads the
   demo city (``refmeter load-demo``).
2. Issues the labels of the largest group of the 城南 service area through the label
   services (as ``refmeter labels --group`` does), to have real signed scan tokens, and an
   API token for the clerk of that unit (``refmeter create-token``).
3. Starts gunicorn (sync workers, ``--workers``) with production settings:
   ``REFMETER_ENV=production``, a random ``SECRET_KEY``, ``ALLOWED_HOSTS=127.0.0.1``,
   ``SECURE_SSL_REDIRECT=false`` (TLS ends at the proxy), DEBUG off, static files from
   ``STATIC_ROOT`` through WhiteNoise, and ``REFMETER_TRUSTED_PROXIES=127.0.0.1``: the
   load generator plays the reverse proxy and sends each anonymous scan with the phone's
   address in ``X-Forwarded-For`` (every address scans 5 labels, then a new phone comes),
   so the per-address scan limit and scan log work as they would for many phones.
4. Logs the clerk in through the login page (password ``refmeter-demo``).
5. For each rate, for each endpoint, a load generator in a separate process sends
   requests at that fixed rate (open loop: request i is due at i/rate seconds, whether or
   not earlier ones have been answered) for ``--duration`` seconds, one connection per
   request (gunicorn's sync workers close it after each answer). Latency is measured
   from the moment the request was due to the end of its answer, so a server that falls
   behind shows it; an answer is complete at its ``Content-Length``, as a browser takes
   it. Endpoints:

   - ``floor``: a static file (``refmeter/favicon.svg``) served by WhiteNoise inside the
     same gunicorn workers: the cost of the HTTP path with no view and no database;
   - ``scan``: the anonymous scan page ``/s/<token>/`` of the group's labels;
   - ``api``: ``GET /api/v1/points/{id}`` with the bearer token, over the group's points;
   - ``group``: the group page ``/groups/<id>/`` (first page of its points) as the clerk.

   Before each step it waits (up to 90 s) until the machine is quiet (``--quiet``: less
   than 20 % of its cores busy over a second), since other work on a shared machine
   comes in bursts. An endpoint whose step saturated (p99 over 1 s or more than 5 %
   errors) is not driven at higher rates. An error is any answer other than 200, a refused connection or no
   answer within 5 s.

Results go to bench/results/capacity.json (one entry per ``--label``; the file keeps the
other labels' runs) and bench/results/capacity.md (every run's table, each figure beside
the floor of the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from capacity_report import cell, write_results  # the sibling module

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
USERNAME = "clerk"
PASSWORD = "refmeter-demo"
UNIT_PATH = "33501/3350101/"  # the demo city's 城南 service area, the clerk's unit
SCANS_PER_ADDRESS = 5
TIMEOUT = 5.0
SATURATED_P99_MS = 1000.0
SATURATED_ERROR_SHARE = 0.05


# ---------------------------------------------------------------- setting up


def _environment(database_url: str, folder: Path, code: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "refmeter.settings",
            "REFMETER_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url,
            "STATIC_ROOT": str(folder / "static"),
            "REFMETER_STORAGE_DIR": str(folder / "files"),
            "REFMETER_VAR_DIR": str(folder / "var"),
            "REFMETER_TRUSTED_PROXIES": "127.0.0.1",
            "LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(code),
        }
    )
    env.pop("REFMETER_LABEL_SIGNING_KEY", None)
    return env


def _refmeter(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [str(BIN / "refmeter"), *args],
        env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"refmeter {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


def _database_create(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def setup_in_django() -> dict[str, Any]:
    """Run inside a process with the benchmark's settings: issue the labels of the largest
    group of the clerk's unit, and name the group and its points."""
    import django

    django.setup()
    from django.db.models import Count
    from django.utils import timezone

    from refmeter.labels.selectors import targets_for_group
    from refmeter.labels.services import labels_issue
    from refmeter.registry.models import Group, Point

    group = (
        Group.objects.filter(unit__path__startswith=UNIT_PATH)
        .annotate(points_count=Count("points"))
        .order_by("-points_count", "pk")
        .first()
    )
    assert group is not None, "the demo city has no group in the clerk's unit"
    issued = labels_issue(
        actor=None,
        targets=targets_for_group(user=None, group_id=group.pk),
        batch="bench:capacity",
        now=timezone.now(),
    )
    return {
        "group_id": group.pk,
        "points": list(
            Point.objects.filter(group=group).order_by("pk").values_list("pk", flat=True)
        ),
        "tokens": [label.token for label in issued],
    }


def prepare(options: argparse.Namespace, folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
    database_url = f"{options.server.rstrip('/')}/{options.database}"
    env = _environment(database_url, folder, Path(options.code).resolve())
    print(f"database {options.database}: create, migrate, load the demo city ...", flush=True)
    _database_create(options.server, options.database)
    _refmeter(env, "migrate", "--noinput", "-v", "0")
    _refmeter(env, "collectstatic", "--noinput", "-v", "0")
    _refmeter(env, "load-demo", "--format", "json")
    completed = subprocess.run(
        [sys.executable, __file__, "_setup"],
        env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"issuing labels failed:\n{completed.stderr[-3000:]}")
    state = json.loads(completed.stdout.strip().splitlines()[-1])
    token = json.loads(_refmeter(env, "create-token", USERNAME, "容量测试", "--format", "json"))
    state["api_token"] = token["token"]
    # A database in service has its planner statistics; a freshly loaded one has none yet.
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    print(
        f"group {state['group_id']}: {len(state['points'])} points, "
        f"{len(state['tokens'])} labels issued",
        flush=True,
    )
    return env, state


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_start(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"), "refmeter.wsgi",
            "--workers", str(workers), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ],
        env=env, cwd=env["PYTHONPATH"], start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            status, _headers, _body = _request(port, "GET", "/static/refmeter/favicon.svg")
        except OSError:
            time.sleep(0.2)
            continue
        if status == 200:
            return process, port
        time.sleep(0.2)
    server_stop(process)
    raise SystemExit("gunicorn did not answer within 30 s")


def server_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: str = ""
) -> tuple[int, list[tuple[str, str]], str]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            found[key.strip()] = rest.split(";", 1)[0]
    return found


def log_in(port: int) -> str:
    """The Cookie header of a session logged in through the login page."""
    status, headers, page = _request(port, "GET", "/login/")
    assert status == 200, f"login page answered {status}"
    cookies = _cookies(headers)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1)}
    )
    status, headers, _page = _request(
        port, "POST", "/login/", body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
        },
    )  # fmt: skip
    cookies.update(_cookies(headers))
    assert status == 302 and "sessionid" in cookies, f"login answered {status}"
    return "; ".join(f"{key}={value}" for key, value in cookies.items())


# ---------------------------------------------------------------- the load


def requests_for(endpoint: str, state: dict[str, Any], port: int) -> dict[str, Any]:
    """What the load generator sends for one endpoint: paths and headers to cycle through."""
    host = f"Host: 127.0.0.1:{port}\r\n"
    if endpoint == "floor":
        return {"paths": ["/static/refmeter/favicon.svg"], "headers": host}
    if endpoint == "scan":
        return {
            "paths": [f"/s/{token}/" for token in state["tokens"]],
            "headers": host,
            "forwarded_for": True,
        }
    if endpoint == "api":
        return {
            "paths": [f"/api/v1/points/{point_id}" for point_id in state["points"]],
            "headers": host + f"Authorization: Bearer {state['api_token']}\r\n",
        }
    if endpoint == "group":
        return {
            "paths": [f"/groups/{state['group_id']}/"],
            "headers": host + f"Cookie: {state['cookie']}\r\n",
        }
    raise SystemExit(f"unknown endpoint {endpoint}")


async def _one(
    port: int, data: bytes, due: float, loop: asyncio.AbstractEventLoop
) -> tuple[float, str]:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout=TIMEOUT
        )
    except (TimeoutError, OSError) as error:
        return loop.time() - due, f"connect: {type(error).__name__}"
    try:
        writer.write(data)
        remaining = max(0.01, due + TIMEOUT - loop.time())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=remaining)
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        remaining = max(0.01, due + TIMEOUT - loop.time())
        if length:
            # Complete at its Content-Length, as a browser takes it.
            await asyncio.wait_for(reader.readexactly(int(length.group(1))), timeout=remaining)
        else:
            await asyncio.wait_for(reader.read(), timeout=remaining)
    except TimeoutError:
        return loop.time() - due, "timeout"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        return loop.time() - due, f"read: {type(error).__name__}"
    finally:
        writer.close()
    finished = loop.time() - due
    status = head[9:12].decode("ascii", "replace") if head.startswith(b"HTTP/") else "none"
    return finished, "" if status == "200" else f"HTTP {status}"


async def _drive(spec: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rate, duration, port = spec["rate"], spec["duration"], spec["port"]
    paths, headers = spec["paths"], spec["headers"]
    total = int(rate * duration)
    address_base = spec.get("address_base", 0)
    tasks = []
    lag = 0.0
    start = loop.time() + 0.2
    for index in range(total):
        due = start + index / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            lag = max(lag, -wait)
        extra = ""
        if spec.get("forwarded_for"):
            phone = address_base + index // SCANS_PER_ADDRESS
            extra = f"X-Forwarded-For: 10.{phone >> 16 & 255}.{phone >> 8 & 255}.{phone & 255}\r\n"
        data = (
            f"GET {paths[index % len(paths)]} HTTP/1.1\r\n{headers}{extra}Connection: close\r\n\r\n"
        ).encode()
        tasks.append(asyncio.ensure_future(_one(port, data, due, loop)))
    results = await asyncio.gather(*tasks)
    ended = loop.time()
    latencies = sorted(latency for latency, error in results if not error)
    errors: dict[str, int] = {}
    for _latency, error in results:
        if error:
            errors[error] = errors.get(error, 0) + 1

    def percentile(share: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    return {
        "rate": rate,
        "sent": total,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "achieved": len(latencies) / (ended - start),
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else None,
        "generator_lag_ms": lag * 1000,
    }


def _busy_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _process_ticks(pids: list[int]) -> int:
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(stat[11]) + int(stat[12])  # utime, stime
    return ticks


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def load_step(spec: dict[str, Any], server_pid: int) -> dict[str, Any]:
    """Drive one endpoint at one rate from a separate process; note how busy the machine's
    cores were meanwhile, and how much of that was the app server's workers."""
    workers = [server_pid, *_children(server_pid)]
    busy_before, total_before = _busy_ticks()
    server_before = _process_ticks(workers)
    completed = subprocess.run(
        [sys.executable, __file__, "_load"],
        input=json.dumps(spec), capture_output=True, text=True, check=False,
        timeout=spec["duration"] + TIMEOUT + 60,
    )  # fmt: skip
    busy_after, total_after = _busy_ticks()
    server_after = _process_ticks(workers)
    if completed.returncode != 0:
        raise SystemExit(f"load generator failed:\n{completed.stderr[-3000:]}")
    step = dict(json.loads(completed.stdout))
    cores = os.cpu_count() or 1
    elapsed = max(1, total_after - total_before)
    step["machine_busy_pct"] = 100 * (busy_after - busy_before) / elapsed
    step["server_cpu_pct"] = 100 * (server_after - server_before) / elapsed
    step["server_cpu_ms_per_answer"] = (
        (server_after - server_before) / os.sysconf("SC_CLK_TCK") * 1000 / step["ok"]
        if step["ok"]
        else None
    )
    step["cores"] = cores
    return step


def _quiet(limit_pct: float, longest: float = 90.0) -> float:
    """Wait (at most ``longest`` s) until the machine's cores were busy less than
    ``limit_pct`` over one second: other work on a shared machine comes in bursts, and a
    step run inside one measures the burst. Returns the busy share last seen."""
    deadline = time.monotonic() + longest
    while True:
        busy_before, total_before = _busy_ticks()
        time.sleep(1)
        busy_after, total_after = _busy_ticks()
        busy = 100 * (busy_after - busy_before) / max(1, total_after - total_before)
        if busy < limit_pct or time.monotonic() > deadline:
            return busy


def _drain(port: int) -> None:
    """Wait (at most 60 s) until the server answers a static file at once again: requests
    left queued by a saturated step must not be counted against the next one."""
    deadline = time.monotonic() + 60
    quick = 0
    while time.monotonic() < deadline and quick < 3:
        started = time.monotonic()
        with contextlib.suppress(OSError):
            _request(port, "GET", "/static/refmeter/favicon.svg")
        quick = quick + 1 if time.monotonic() - started < 0.02 else 0
        time.sleep(0.2)


def _saturated(step: dict[str, Any]) -> bool:
    p99 = step["p99_ms"]
    return (
        p99 is None
        or p99 > SATURATED_P99_MS
        or step["errors"] > SATURATED_ERROR_SHARE * step["sent"]
    )


def _warm_up(port: int, state: dict[str, Any], endpoints: list[str]) -> None:
    for endpoint in endpoints:
        spec = requests_for(endpoint, state, port)
        for index in range(20):
            headers = dict(
                line.split(": ", 1) for line in spec["headers"].strip().split("\r\n") if line
            )
            headers.pop("Host", None)
            if spec.get("forwarded_for"):
                headers["X-Forwarded-For"] = f"10.255.255.{index}"
            status, _h, _b = _request(
                port, "GET", spec["paths"][index % len(spec["paths"])], headers=headers
            )
            assert status == 200, f"{endpoint}: warm-up answered {status}"


# ---------------------------------------------------------------- where the time goes

LAYERS = (
    ("database round trips (psycopg)", ("/psycopg/", "/psycopg_binary/")),
    ("ORM: building queries, reading rows", ("/django/db/",)),
    ("templates", ("/django/template/", "/django/templatetags/", "/templatetags/")),
    ("API framework (django-ninja, pydantic)", ("/ninja/", "/pydantic", "/pydantic_core/")),
    ("refmeter code", ("/refmeter/",)),
    (
        "Django request handling and middleware",
        ("/django/", "/whitenoise/", "/axes/", "/django_htmx/", "/asgiref/"),
    ),
)


def profile_in_django(spec: dict[str, Any]) -> dict[str, Any]:
    """Run inside a process with the benchmark's settings: answer each endpoint's requests
    through Django's handler (no HTTP server) under cProfile, and share the time out by
    layer (own time of each function, by the package it lives in)."""
    import cProfile
    import pstats

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    report: dict[str, Any] = {}
    for name, endpoint in spec["endpoints"].items():
        client = Client()
        headers = dict(
            line.split(": ", 1) for line in endpoint["headers"].strip().split("\r\n") if line
        )
        headers.pop("Host", None)
        cookie = headers.pop("Cookie", "")
        for part in cookie.split("; "):
            if "=" in part:
                key, value = part.split("=", 1)
                client.cookies[key] = value
        meta = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}

        def ask(
            index: int, client: Any = client, endpoint: dict[str, Any] = endpoint, meta: Any = meta
        ) -> int:
            extra = {}
            if endpoint.get("forwarded_for"):
                phone = spec["address_base"] + index // SCANS_PER_ADDRESS
                extra["HTTP_X_FORWARDED_FOR"] = (
                    f"11.{phone >> 16 & 255}.{phone >> 8 & 255}.{phone & 255}"
                )
            path = endpoint["paths"][index % len(endpoint["paths"])]
            return int(client.get(path, HTTP_HOST="127.0.0.1", **meta, **extra).status_code)

        for index in range(20):
            ask(index)
        with CaptureQueriesContext(connection) as queries:
            ask(20)
        queries_per_request = len(queries.captured_queries)  # before the next request clears it
        count = spec["requests"]
        started = time.process_time()
        for index in range(21, 21 + count):
            ask(index)
        cpu = time.process_time() - started
        profiler = cProfile.Profile()
        profiler.enable()
        for index in range(21 + count, 21 + 2 * count):
            ask(index)
        profiler.disable()
        layers = dict.fromkeys([title for title, _ in LAYERS] + ["Python and its library"], 0.0)
        functions = []
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        for (filename, line, function), (
            _calls,
            _primitive,
            own,
            _cumulative,
            _callers,
        ) in stats.items():
            layer = next(
                (title for title, marks in LAYERS if any(mark in filename for mark in marks)),
                "Python and its library",
            )
            layers[layer] += own
            functions.append((own, f"{Path(filename).name}:{line}({function})"))
        total = sum(layers.values()) or 1.0
        report[name] = {
            "requests": spec["requests"],
            "queries_per_request": queries_per_request,
            "cpu_ms_per_request": cpu * 1000 / count,
            "layers_pct": {layer: 100 * own / total for layer, own in layers.items()},
            "top_functions": [
                {"function": where, "pct": 100 * own / total}
                for own, where in sorted(functions, reverse=True)[:8]
            ],
        }
    return report


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="refmeter_capacity_bench")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rates", default="10,50,100,200,300")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per step (≤ 20)")
    parser.add_argument("--endpoints", default="floor,scan,api,group")
    parser.add_argument("--label", default="latest", help="the name of this run in the results")
    parser.add_argument("--note", default="", help="a sentence stored with the run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile-requests", type=int, default=200, help="requests per endpoint profiled"
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=20.0,
        help="before each step, wait (up to 90 s) until the machine is less busy than this "
        "share of its cores (other work on a shared machine)",
    )
    parser.add_argument(
        "--code",
        default=str(ROOT),
        help="serve the refmeter package from this folder (e.g. an earlier commit's "
        "`git archive` output, to measure it the same way); default: this checkout",
    )
    options = parser.parse_args()
    if not 0 < options.duration <= 20:
        raise SystemExit("--duration must be more than 0 and at most 20 seconds")
    rates = [int(rate) for rate in options.rates.split(",")]
    endpoints = options.endpoints.split(",")
    folder = Path(tempfile.mkdtemp(prefix="refmeter-capacity-"))
    process = None
    try:
        env, state = prepare(options, folder)
        process, port = server_start(env, options.workers)
        state["cookie"] = log_in(port)
        _warm_up(port, state, endpoints)
        loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        results: dict[str, Any] = {
            name: {"path": requests_for(name, state, port)["paths"][0], "steps": []}
            for name in endpoints
        }
        saturated: set[str] = set()
        address_base = 0
        for rate in rates:
            for name in endpoints:
                if name in saturated:
                    continue
                spec = {
                    **requests_for(name, state, port),
                    "rate": rate,
                    "duration": options.duration,
                    "port": port,
                    "address_base": address_base,
                }
                address_base += int(rate * options.duration) // SCANS_PER_ADDRESS + 1
                background = _quiet(options.quiet)
                step = load_step(spec, process.pid)
                step["machine_busy_before_pct"] = background
                results[name]["steps"].append(step)
                print(
                    f"{rate:>4} req/s {name:<6} {cell(step)}; machine "
                    f"{step['machine_busy_pct']:.0f} % busy, app server "
                    f"{step['server_cpu_pct']:.0f} %",
                    flush=True,
                )
                if _saturated(step):
                    saturated.add(name)
                time.sleep(1)
                _drain(port)
        print("profiling each endpoint through Django's handler ...", flush=True)
        profiled = subprocess.run(
            [sys.executable, __file__, "_profile"],
            input=json.dumps(
                {
                    "endpoints": {name: requests_for(name, state, port) for name in endpoints},
                    "requests": options.profile_requests,
                    "address_base": address_base,
                }
            ),
            env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True, check=False,
        )  # fmt: skip
        if profiled.returncode != 0:
            raise SystemExit(f"profiling failed:\n{profiled.stderr[-3000:]}")
        run = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "workers": options.workers,
            "duration": options.duration,
            "rates": rates,
            "loadavg_before": loadavg,
            "note": options.note,
            "group_points": len(state["points"]),
            "endpoints": results,
            "profile": json.loads(profiled.stdout.strip().splitlines()[-1]),
        }
        write_results(options.label, run)
    finally:
        if process is not None:
            server_stop(process)
        shutil.rmtree(folder, ignore_errors=True)
        if not options.keep:
            try:
                import psycopg

                with psycopg.connect(
                    f"{options.server.rstrip('/')}/postgres", autocommit=True
                ) as connection:
                    connection.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')
            except Exception as error:
                print(f"could not drop {options.database}: {error}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_setup":
        # PYTHONPATH names the code to set up (see --code).
        print(json.dumps(setup_in_django()))
    elif len(sys.argv) > 1 and sys.argv[1] == "_profile":
        print(json.dumps(profile_in_django(json.loads(sys.stdin.read()))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_load":
        print(json.dumps(asyncio.run(_drive(json.loads(sys.stdin.read())))))
    else:
        main()
