"""The capacity benchmark's report: its runs as tables in bench/results/capacity.md, each
beside the floor of the same run, and the verdict on each target (bench/capacity.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"scan": (200, 50.0), "api": (200, 50.0), "group": (50, 50.0)}
TITLES = {
    "floor": "floor: static file",
    "scan": "scan page (anonymous)",
    "api": "API point read",
    "group": "group page (logged in)",
}


def cell(step: dict[str, Any] | None) -> str:
    if step is None:
        return "— (saturated below)"
    if step["p99_ms"] is None:
        return f"no answers, {step['errors']:,} errors"
    return (
        f"{step['p50_ms']:.0f} / {step['p95_ms']:.0f} / {step['p99_ms']:.0f} ms, "
        f"{step['errors']:,} err, {step['achieved']:.0f}/s"
    )


def run_table(run: dict[str, Any]) -> list[str]:
    endpoints = list(run["endpoints"])
    lines = [
        "| rate | " + " | ".join(TITLES.get(name, name) for name in endpoints) + " |",
        "|---" * (len(endpoints) + 1) + "|",
    ]
    for rate in run["rates"]:
        cells = []
        for name in endpoints:
            step = next((s for s in run["endpoints"][name]["steps"] if s["rate"] == rate), None)
            cells.append(cell(step))
        lines.append(f"| {rate} req/s | " + " | ".join(cells) + " |")
    return lines


def _background(run: dict[str, Any]) -> str:
    seen = [
        step["machine_busy_before_pct"]
        for entry in run["endpoints"].values()
        for step in entry["steps"]
        if "machine_busy_before_pct" in step
    ]
    if not seen:
        return "other load before the steps not recorded"
    return f"other load in the second before each step at most {max(seen):.0f} % of the cores"


def cpu_table(run: dict[str, Any]) -> list[str]:
    """How busy the machine was during each step (all cores = 100 %), how much of it the app
    server's workers used, and their CPU time per answer."""
    endpoints = list(run["endpoints"])
    lines = [
        "| rate | " + " | ".join(TITLES.get(name, name) for name in endpoints) + " |",
        "|---" * (len(endpoints) + 1) + "|",
    ]
    for rate in run["rates"]:
        cells = []
        for name in endpoints:
            step = next((s for s in run["endpoints"][name]["steps"] if s["rate"] == rate), None)
            if step is None or "machine_busy_pct" not in step:
                cells.append("—")
                continue
            per_answer = step["server_cpu_ms_per_answer"]
            cells.append(
                f"{step['machine_busy_pct']:.0f} % / {step['server_cpu_pct']:.0f} %"
                + (f", {per_answer:.1f} ms" if per_answer is not None else "")
            )
        lines.append(f"| {rate} req/s | " + " | ".join(cells) + " |")
    return lines


def profile_table(run: dict[str, Any]) -> list[str]:
    """Where each endpoint's time goes in the app server, by layer."""
    profile = run.get("profile")
    if not profile:
        return []
    endpoints = list(profile)
    first = profile[endpoints[0]]
    lines = [
        f"Where the time goes: {first['requests']} requests per endpoint answered by Django's "
        "handler in one process with the same settings and database (no HTTP server), timed, "
        "then as many again under cProfile (which inflates times, so shares are given): own "
        "time of each function by the layer it belongs to:",
        "",
        "| | " + " | ".join(TITLES.get(name, name) for name in endpoints) + " |",
        "|---" * (len(endpoints) + 1) + "|",
        "| queries per request (with the writes after the answer) | "
        + " | ".join(str(profile[name]["queries_per_request"]) for name in endpoints)
        + " |",
        "| CPU per request, unprofiled, in this process | "
        + " | ".join(f"{profile[name]['cpu_ms_per_request']:.1f} ms" for name in endpoints)
        + " |",
    ]
    for layer in first["layers_pct"]:
        lines.append(
            f"| {layer} | "
            + " | ".join(f"{profile[name]['layers_pct'][layer]:.0f} %" for name in endpoints)
            + " |"
        )
    lines.append("")
    for name in endpoints:
        top = ", ".join(
            f"{item['function']} {item['pct']:.0f} %" for item in profile[name]["top_functions"][:5]
        )
        lines.append(f"- {TITLES.get(name, name)}, most own time: {top}")
    lines.append("")
    return lines


def verdicts(run: dict[str, Any]) -> list[str]:
    lines = []
    for name, (rate, p99) in TARGETS.items():
        if name not in run["endpoints"]:
            continue
        steps = run["endpoints"][name]["steps"]
        held = [
            s["rate"]
            for s in steps
            if s["p99_ms"] is not None and s["p99_ms"] <= p99 and s["errors"] == 0
        ]
        step = next((s for s in steps if s["rate"] == rate), None)
        if step is None:
            state = f"not reached (saturated below {rate} req/s)"
        elif step["p99_ms"] is not None and step["p99_ms"] <= p99 and step["errors"] == 0:
            state = f"**met** (p99 {step['p99_ms']:.0f} ms, 0 errors)"
        else:
            p99_text = f"{step['p99_ms']:.0f} ms" if step["p99_ms"] is not None else "none"
            state = f"**not met** (p99 {p99_text}, {step['errors']:,} errors)"
        lines.append(
            f"- {TITLES[name]}: target p99 ≤ {p99:.0f} ms with 0 errors at {rate} req/s: "
            f"{state}; highest rate held: {f'{max(held)} req/s' if held else 'none'}"
        )
    return lines


def write_results(label: str, run: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "capacity.json"
    report: dict[str, Any] = {"benchmark": "capacity", "runs": {}}
    if path.exists():
        report = json.loads(path.read_text())
    report["runs"][label] = run
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_markdown(report)


def write_markdown(report: dict[str, Any]) -> None:
    lines = [
        "# capacity benchmark: requests a second one app server holds",
        "",
        "`bench/capacity.py`: gunicorn with production settings on 127.0.0.1, PostgreSQL with "
        "the demo city, a load generator in a separate process sending each endpoint fixed "
        "rates (open loop, one connection per request). Each cell is p50 / p95 / p99 latency "
        "(from when the request was due to the end of the answer), errors (answers other "
        "than 200, refused or unanswered within 5 s) and the rate of answers achieved. The "
        "floor is a static file served by WhiteNoise in the same workers, measured in the "
        "same run at the same rate, just before the pages. Each step starts once the "
        "machine is quiet (other load below 20 % of its cores). An endpoint is not driven "
        "past a rate where it saturated (p99 > 1 s or > 5 % errors). The runs marked "
        '"before" served the code of the commit before this benchmark\'s changes '
        "(`--code`).",
        "",
    ]
    for name, entry in report["runs"].items():
        lines += [
            f"## {name}",
            "",
            f"Run {entry['when']} on {entry['machine']}; gunicorn {entry['workers']} sync "
            f"workers; {entry['duration']} s per step; load average before the run "
            f"{entry['loadavg_before']}; {_background(entry)}. {entry.get('note', '')}".rstrip(),
            "",
            *run_table(entry),
            "",
            *verdicts(entry),
            "",
            "CPU during each step: the machine's busy share of all its cores / the app "
            "server's workers' share, and the workers' CPU time per answer (the rest of the "
            "busy share is PostgreSQL, the load generator and whatever else ran):",
            "",
            *cpu_table(entry),
            "",
            *profile_table(entry),
        ]
    (RESULTS / "capacity.md").write_text("\n".join(lines))
    print("\n".join(lines))
