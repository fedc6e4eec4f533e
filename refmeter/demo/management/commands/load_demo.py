from __future__ import annotations

import json
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.demo.generator import demo_is_loaded, load_demo


class Command(BaseCommand):
    help = "Load the demo city into the configured database (which must be empty)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when data is already there"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if demo_is_loaded():
            if options["if_empty"]:
                return
            raise CommandError("数据库中已有数据：演示数据只能装入空数据库。")
        as_text = options["format"] == "text"
        summary = load_demo(
            today=timezone.localdate(),
            now=timezone.now(),
            progress=(lambda message: self.stdout.write(f"  {message}"))
            if as_text
            else (lambda _m: None),
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary.__dict__, ensure_ascii=False, default=str))
        else:
            self.stdout.write(
                f"演示数据已装入：{summary.units} 个单位，{summary.customers} 个客户，"
                f"{summary.groups} 个群组，{summary.points_active} 个在用用电点，"
                f"{summary.areas} 个台区，{summary.access_points} 个接入点。"
            )
