from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.organisations.management.actor import command_actor
from refmeter.spreadsheets.stock import stock_export


class Command(BaseCommand):
    help = "Export every running group and its points as the base-account check list (xlsx)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", help="export only what this user may see")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if path.suffix.lower() != ".xlsx":
            raise CommandError("输出文件应以 .xlsx 结尾。")
        actor = command_actor(options["user"]) if options["user"] else None
        content = stock_export(actor=actor, as_of=timezone.localdate())
        try:
            path.write_bytes(content)
        except OSError as error:
            raise CommandError(f"无法写入 {path}：{error.strerror}") from error
        if options["format"] == "json":
            self.stdout.write(json.dumps({"file": str(path), "bytes": len(content)}))
        else:
            self.stdout.write(f"已导出 {path}（{len(content)} 字节）")
