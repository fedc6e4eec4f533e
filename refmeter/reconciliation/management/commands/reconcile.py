from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand

from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.reconciliation.services import (
    Reconciliation,
    UnableToReconcile,
    reconcile_for,
    reconcile_report,
)

# Exit codes: the two systems agree; they differ; the file (or the request) is bad.
AGREE, DIFFER, BAD_FILE = 0, 1, 2


class Command(BaseCommand):
    help = (
        "Compare the marketing system's list of reference-meter customers (户号, 综合倍率, "
        "状态) with refmeter on a day. Exit 0 when they agree, 1 when they differ, 2 on a bad "
        "file."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="xlsx, xls, ods or CSV (UTF-8 or GB18030)")
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD, the day compared")
        parser.add_argument("--user", help="compare as this user (only their units' groups)")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = dt.date.fromisoformat(options["as_of"])
        except ValueError:
            self._fail(options, [f"日期“{options['as_of'][:20]}”格式不正确，应为 YYYY-MM-DD。"])
        try:
            if options["user"]:
                report = reconcile_for(
                    user=command_actor(options["user"]),
                    file_or_rows=options["file"],
                    as_of=as_of,
                )
            else:
                report = reconcile_report(options["file"], as_of=as_of)
        except UnableToReconcile as error:
            self._fail(options, error.problems)
        except (UnreadableSpreadsheet, ActionNotAllowed) as error:
            self._fail(options, [str(error)])
        self._show(options, report)
        if report.differences:
            raise SystemExit(DIFFER)

    def _show(self, options: dict[str, Any], report: Reconciliation) -> None:
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "as_of": report.as_of.isoformat(),
                        "energy_month": f"{report.energy_period.start_date:%Y-%m}",
                        "rows": report.rows,
                        "compared": report.compared,
                        "other_units": report.other_units,
                        "differences": [item.as_dict() for item in report.differences],
                    },
                    ensure_ascii=False,
                )
            )
            return
        for item in report.differences:
            energy = (
                f"，按 {report.energy_period.start_date:%Y-%m} 每点电量 {item.energy_per_point} kWh "
                f"少/多计 {item.misbilled_energy} kWh"
                if item.misbilled_energy is not None
                else ""
            )
            self.stdout.write(
                f"{item.account_number} {item.kind_label}：营销系统 "
                f"{item.marketing_status or '—'} ×{item.marketing_multiplier or '—'}，本系统 "
                f"{item.refmeter_status or '—'} ×{item.refmeter_multiplier or '—'}{energy}"
            )
        self.stdout.write(
            f"{report.as_of}：清单 {report.rows} 户，核对 {report.compared} 户，"
            f"差异 {len(report.differences)} 户"
            + (f"，其他单位 {report.other_units} 户未核对" if report.other_units else "")
            + "。"
        )

    def _fail(self, options: dict[str, Any], problems: list[str]) -> Any:
        if options["format"] == "json":
            self.stdout.write(json.dumps({"errors": problems}, ensure_ascii=False))
        self.stderr.write(f"未核对，共 {len(problems)} 个问题：\n" + "\n".join(problems))
        raise SystemExit(BAD_FILE)
