from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.registry.selectors import point_statistics


class Command(BaseCommand):
    help = "Active points of the whole database, by customer, device type and area."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--as-of", help="date YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = timezone.localdate()
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError as error:
                raise CommandError(
                    f"日期格式错误：{options['as_of']}，应为 YYYY-MM-DD。"
                ) from error
        stats = point_statistics(user=None, as_of=as_of)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "as_of": as_of.isoformat(),
                        "total": stats.total,
                        "by_customer": stats.by_customer,
                        "by_device_type": stats.by_device_type,
                        "by_area": stats.by_area,
                    },
                    ensure_ascii=False,
                )
            )
            return
        self.stdout.write(f"在用用电点（{as_of}）：共 {stats.total} 个")
        self.stdout.write("按客户：")
        for row in stats.by_customer:
            self.stdout.write(f"  {row['customer']:<30} {row['points']:>7}")
        self.stdout.write("按设备类型：")
        for row in stats.by_device_type:
            self.stdout.write(f"  {row['device_type']:<30} {row['points']:>7}")
        self.stdout.write(f"按台区：{len(stats.by_area)} 个台区（用 --format json 查看明细）")
