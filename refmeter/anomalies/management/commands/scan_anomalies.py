from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.anomalies.services import anomalies_scan


class Command(BaseCommand):
    help = (
        "Run every anomaly rule over every reference meter as of a day (default today): "
        "over the days since the last scan when its run state allows, else over the window."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--as-of", help="YYYY-MM-DD")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--full",
            action="store_true",
            help="rescan the whole window and rebuild the run state (after changing the rules "
            "this happens by itself)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = timezone.localdate()
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError as error:
                raise CommandError(
                    f"日期格式错误：{options['as_of']}，应为 YYYY-MM-DD。"
                ) from error
        result = anomalies_scan(
            as_of=as_of,
            now=timezone.now(),
            full=options["full"],
            progress=lambda kind: print(f"\r检查规则 {kind}".ljust(40), end="", file=sys.stderr),
        )
        sys.stderr.write("\n")
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            summary = result.as_dict()
            self.stdout.write(
                f"{as_of}：新报出 {summary['raised_total']} 个，自动解除 {summary['cleared_total']} 个，"
                f"处理中 {summary['still_open']} 个。"
                + (_("（全量重算）") if result.full else _("（增量扫描，只读新的日期）"))
            )
