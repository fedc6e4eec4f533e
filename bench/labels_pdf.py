"""Benchmark: 10,000 labels into one PDF (issue + sign + draw), time and peak memory.

    .venv/bin/python bench/labels_pdf.py --labels 10000

Each layout runs in its own process on a fresh SQLite database, so its max RSS is
its own. Results go to bench/results/labels_pdf.json and bench/results/labels_pdf.md.
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


def run_one(layout: str, labels: int, folder: Path) -> dict:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from refmeter.labels.selectors import LabelTarget
    from refmeter.labels.tasks import print_labels_to_file

    call_command("migrate", interactive=False, verbosity=0)
    targets = [
        LabelTarget(
            account_number=f"17{index:08d}",
            name=f"城南新村{index % 90}幢电信楼道EPON机柜",
            short_address=f"越城区城南街道南苑社区南江枫林小区{index % 90}幢{index % 4 + 1}单元",
        )
        for index in range(labels)
    ]
    path = folder / f"{layout}.pdf"
    started = time.perf_counter()
    count = print_labels_to_file(
        user=None, targets=targets, layout_name=layout, batch="bench", path=path
    )
    seconds = time.perf_counter() - started
    import pypdfium2

    pages = len(pypdfium2.PdfDocument(str(path)))
    return {
        "layout": layout,
        "labels": count,
        "seconds": seconds,
        "pdf_mib": path.stat().st_size / 2**20,
        "pages": pages,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--layouts", default="a4-3x8,roll-50x30")
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = []
    for layout in options.layouts.split(","):
        with tempfile.TemporaryDirectory() as folder:
            print(f"[{layout}] {options.labels} labels ...", flush=True)
            completed = subprocess.run(
                [sys.executable, __file__, "_one", layout, str(options.labels), folder],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if completed.returncode != 0:
                raise SystemExit(completed.stderr[-3000:])
            runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    report = {
        "benchmark": "labels-pdf",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "runs": runs,
    }
    (RESULTS / "labels_pdf.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"# labels-pdf benchmark: {options.labels:,} labels in one PDF",
        "",
        f"Run {report['when']} on {report['machine']}: issue and sign the labels, then draw "
        "them (QR code, account number, short address in an embedded CJK font). Peak memory "
        "is the max RSS of the process.",
        "",
        "| layout | labels | pages | time | PDF size | peak memory |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run['layout']} | {run['labels']:,} | {run['pages']:,} | {run['seconds']:.1f} s "
            f"| {run['pdf_mib']:.1f} MiB | {run['peak_mib']:.0f} MiB |"
        )
    (RESULTS / "labels_pdf.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        print(json.dumps(run_one(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
    else:
        main()
