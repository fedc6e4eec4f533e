"""Benchmark: 10,000 labels into one PDF (issue + sign + draw), beside its floor, and every
code of the PDF decoded at 300 dpi.

    .venv/bin/python bench/labels_pdf.py [--labels 10000] [--layouts a4-3x8,roll-50x30]

For each layout, each in its own process (so that its max RSS is its own):

1. the job: ``print_labels_to_file`` on a fresh SQLite database (reserve serials, sign
   every token with Ed25519, draw the PDF, issue the labels);
2. the floor: the same PDF drawn alone from the job's own payloads with reportlab, the
   codes encoded by zxing-cpp and drawn as images — no database, no signing;
3. the check: every page rasterised at 300 dpi with pypdfium2, each label's cell decoded
   by zbar (pyzbar, when the libzbar shared library is installed; zxing-cpp otherwise), and
   the decoded payloads compared with the issued ones.

Results go to bench/results/labels_pdf.json and bench/results/labels_pdf.md.
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
TARGET_SECONDS = 15.0
TARGET_MIB = 200.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def django_setup(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def targets(labels: int) -> list:
    from refmeter.labels.selectors import LabelTarget

    return [
        LabelTarget(
            account_number=f"17{index:08d}",
            name=f"城南新村{index % 90}幢电信楼道EPON机柜",
            short_address=f"越城区城南街道南苑社区南江枫林小区{index % 90}幢{index % 4 + 1}单元",
        )
        for index in range(labels)
    ]


def run_job(layout: str, labels: int, folder: Path) -> dict:
    django_setup(folder)
    from django.core.management import call_command

    from refmeter.labels import tasks

    call_command("migrate", interactive=False, verbosity=0)
    wanted = targets(labels)
    path = folder / f"{layout}.pdf"
    # The tokens are signed, never stored: keep what the job prepared, for the floor and
    # the check (a reference kept, nothing recomputed).
    kept = []
    prepare = tasks.labels_prepare

    def keeping(**arguments):
        kept.append(prepare(**arguments))
        return kept[-1]

    tasks.labels_prepare = keeping
    started = time.perf_counter()
    count = tasks.print_labels_to_file(
        user=None, targets=wanted, layout_name=layout, batch="bench", path=path
    )
    seconds = time.perf_counter() - started
    printed = [
        {"url": label.url, "account_number": label.account_number, "name": label.name,
         "short_address": label.short_address, "serial": label.serial}
        for label in kept[0].labels
    ]  # fmt: skip
    (folder / f"{layout}.json").write_text(json.dumps(printed, ensure_ascii=False))
    return {
        "labels": count,
        "seconds": seconds,
        "pdf_mib": path.stat().st_size / 2**20,
        "peak_mib": peak_mib(),
    }


def run_floor(layout: str, folder: Path) -> dict:
    django_setup(folder)
    from refmeter.labels.layouts import layout_get
    from refmeter.labels.pdf import LabelPrint, labels_pdf

    printed = [LabelPrint(**item) for item in json.loads((folder / f"{layout}.json").read_text())]
    path = folder / f"{layout}-floor.pdf"
    started = time.perf_counter()
    with path.open("wb") as out:
        labels_pdf(printed, layout=layout_get(layout), out=out, title="bench")
    return {
        "seconds": time.perf_counter() - started,
        "pdf_mib": path.stat().st_size / 2**20,
        "peak_mib": peak_mib(),
    }


def _zbar_decoder():
    try:
        from pyzbar import pyzbar
    except ImportError:
        return None

    def decode(cell) -> str:
        found = pyzbar.decode(cell, symbols=[pyzbar.ZBarSymbol.QRCODE])
        return found[0].data.decode() if found else ""

    return decode


def _zxing_decoder():
    import zxingcpp

    def decode(cell) -> str:
        found = zxingcpp.read_barcodes(cell, formats=zxingcpp.BarcodeFormat.QRCode)
        return found[0].text if found else ""

    return decode


def run_check(layout_name: str, folder: Path) -> dict:
    """Decode every label's cell at 300 dpi; compare with the issued payloads."""
    django_setup(folder)
    import numpy as np
    import pypdfium2

    from refmeter.labels.layouts import layout_get

    layout = layout_get(layout_name)
    expected = [item["url"] for item in json.loads((folder / f"{layout_name}.json").read_text())]
    decode, decoder = _zbar_decoder(), "zbar"
    if decode is None:
        decode, decoder = _zxing_decoder(), "zxing-cpp (zbar not installed)"
    dots_per_mm = 300 / 25.4
    found: list[str] = []
    started = time.perf_counter()
    document = pypdfium2.PdfDocument(str(folder / f"{layout_name}.pdf"))
    for page in document:
        image = page.render(scale=300 / 72, grayscale=True).to_numpy()
        gray = image[:, :, 0] if image.ndim == 3 else image
        for row in range(layout.rows):
            for column in range(layout.columns):
                if len(found) == len(expected):
                    break
                left = layout.margin_left + column * (layout.label_width + layout.gap_x)
                top = layout.margin_top + row * (layout.label_height + layout.gap_y)
                cell = np.ascontiguousarray(
                    gray[
                        int(top * dots_per_mm) : int((top + layout.label_height) * dots_per_mm),
                        int(left * dots_per_mm) : int((left + layout.label_width) * dots_per_mm),
                    ]
                )
                found.append(decode(cell))
    document.close()
    return {
        "decoder": decoder,
        "decoded": sum(1 for text in found if text),
        "matching": sum(1 for text, url in zip(found, expected, strict=False) if text == url),
        "expected": len(expected),
        "seconds": time.perf_counter() - started,
    }


def _phase(*arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--layouts", default="a4-3x8,roll-50x30")
    parser.add_argument("--note", default="", help="a remark on the machine's load, reported")
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    runs = []
    for layout in options.layouts.split(","):
        with tempfile.TemporaryDirectory() as temporary:
            print(f"[{layout}] {options.labels} labels ...", flush=True)
            job = _phase("_job", layout, str(options.labels), temporary)
            floor = _phase("_floor", layout, temporary)
            check = _phase("_check", layout, temporary)
            runs.append({"layout": layout, "job": job, "floor": floor, "check": check})
            print(json.dumps(runs[-1]), flush=True)
    report = {
        "benchmark": "labels-pdf",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_before": load_before,
        "note": options.note,
        "runs": runs,
    }
    (RESULTS / "labels_pdf.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# labels-pdf benchmark: {options.labels:,} labels in one PDF",
        "",
        f"Run {report['when']} on {report['machine']}; load average before the run "
        f"{load_before}. {options.note}".rstrip(),
        "",
        "The job issues and signs the labels and draws them (QR code encoded by zxing-cpp and "
        "drawn as one image, the utility's short name, 扫码验真, account number, name and "
        "short address in an embedded CJK font) on SQLite. The floor draws the same PDF "
        "from the job's payloads alone (no database, no signing). The check rasterises every "
        "page at 300 dpi and decodes each label. Peak memory is the max RSS of the process.",
        "",
        "| layout | labels | job | floor: the same PDF drawn alone | ratio | PDF size | "
        "peak memory (job) | decoded at 300 dpi |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        job, floor, check = run["job"], run["floor"], run["check"]
        lines.append(
            f"| {run['layout']} | {job['labels']:,} | {job['seconds']:.1f} s | "
            f"{floor['seconds']:.1f} s | {job['seconds'] / floor['seconds']:.2f}× | "
            f"{job['pdf_mib']:.1f} MiB | {job['peak_mib']:.0f} MiB | "
            f"{check['matching']:,} of {check['expected']:,} by {check['decoder']} |"
        )
    lines.append("")
    for run in runs:
        job, check = run["job"], run["check"]
        met = (
            job["seconds"] <= TARGET_SECONDS
            and job["peak_mib"] <= TARGET_MIB
            and check["matching"] == check["expected"]
        )
        lines.append(
            f"- {run['layout']}: target ≤ {TARGET_SECONDS:.0f} s, ≤ {TARGET_MIB:.0f} MiB, every "
            f"code decoded: **{'met' if met else 'not met'}**"
        )
    (RESULTS / "labels_pdf.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_job":
        print(json.dumps(run_job(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_floor":
        print(json.dumps(run_floor(sys.argv[2], Path(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_check":
        print(json.dumps(run_check(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()
