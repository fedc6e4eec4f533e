from __future__ import annotations

import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from refmeter.common.periods import Period
from refmeter.lineloss.selectors import lineloss_report


def _number(value: Any) -> str | None:
    return None if value is None else str(value)


class Command(BaseCommand):
    help = "Line loss of every area for a month, before and after the virtual energy."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        match = re.fullmatch(r"(\d{4})-(\d{2})", options["period"])
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise CommandError(f"账期格式错误：{options['period']}，应为 YYYY-MM。")
        report = lineloss_report(period=Period.month(int(match.group(1)), int(match.group(2))))
        rows = [
            {
                "area_number": row.area_number, "area": row.area_name,
                "supply_kwh": _number(row.supply), "sales_kwh": _number(row.sales),
                "virtual_kwh": _number(row.virtual), "point_days": row.point_days,
                "loss_before_percent": _number(row.loss_before),
                "loss_after_percent": _number(row.loss_after),
                "class_before": row.class_before, "class_after": row.class_after,
                "band_after": row.band_after, "moved": row.moved,
            }
            for row in report
        ]  # fmt: skip
        if options["format"] == "json":
            self.stdout.write(
                json.dumps({"period": options["period"], "areas": rows}, ensure_ascii=False)
            )
            return
        moved_in = sum(1 for row in report if row.moved == "into_qualified")
        moved_out = sum(1 for row in report if row.moved == "out_of_qualified")
        total = sum((row.virtual for row in report), start=0)
        self.stdout.write(
            f"{options['period']}：{len(report)} 个台区，虚拟电量合计 {total} kWh；"
            f"计入后转为合格 {moved_in} 个，转为不合格 {moved_out} 个。"
        )
