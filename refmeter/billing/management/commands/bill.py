from __future__ import annotations

import json
import re
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.billing.services import billing_run


class Command(BaseCommand):
    help = "Bill every group for a month; --close closes the month (reruns then change nothing)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--close", action="store_true")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        match = re.fullmatch(r"(\d{4})-(\d{2})", options["period"])
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise CommandError(f"账期格式错误：{options['period']}，应为 YYYY-MM。")
        result = billing_run(
            actor=None,
            year=int(match.group(1)),
            month=int(match.group(2)),
            now=timezone.now(),
            close=options["close"],
            progress=lambda done, total: print(f"\r出账 {done}/{total}", end="", file=sys.stderr),
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            return
        note = "（已关账，未重算）" if result.unchanged else ""
        self.stdout.write(
            f"{result.period}{note}：{result.bills} 张账单，结算电量 {result.total_energy} kWh，"
            f"应收 {result.total_amount} 元；未出账 {len(result.problems)} 户。"
        )
        for problem in result.problems[:20]:
            self.stdout.write(f"  {problem}")
