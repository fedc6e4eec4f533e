from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.common.spreadsheets import UnreadableSpreadsheet, spreadsheet_bytes
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.spreadsheets.stock import UnableToImportStock, stock_import


class Command(BaseCommand):
    help = "Import a checked base-account check list: all rows or none."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--user", help="the user the changes are recorded under")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            path.stat()
        except OSError as error:
            raise CommandError(f"无法读取 {path}：{error.strerror}") from error
        actor = command_actor(options["user"])
        as_json = options["format"] == "json"

        def progress(done: int, total: int, message: str) -> None:
            # Progress goes to stderr, so --format json stays parseable on stdout.
            figures = f"{done}/{total}" if total else (str(done) if done else "")
            sys.stderr.write(f"\r{message} {figures}".ljust(60))
            sys.stderr.flush()

        try:
            result = stock_import(
                actor=actor,
                data=spreadsheet_bytes(path),  # its size is checked before it is read
                now=timezone.now(),
                dry_run=options["dry_run"],
                progress=progress,
            )
        except (UnableToImportStock, UnreadableSpreadsheet, ActionNotAllowed) as error:
            sys.stderr.write("\n")
            problems = getattr(error, "problems", None) or [str(error)]
            if as_json:
                self.stdout.write(json.dumps({"errors": problems}, ensure_ascii=False))
            raise CommandError(
                f"未导入，共 {len(problems)} 个问题：\n" + "\n".join(problems)
            ) from error
        sys.stderr.write("\n")
        summary = result.as_dict()
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        groups, points = summary["groups"], summary["points"]
        self.stdout.write(
            ("（仅检查，未写入）" if result.dry_run else "")
            + f"群组：新建 {groups['created']}，修改 {groups['changed']}，"
            f"未变 {groups['unchanged']}；"
            f"虚拟子户：新建 {points['created']}，修改 {points['changed']}，"
            f"取消 {points['cancelled']}，未变 {points['unchanged']}。"
        )
