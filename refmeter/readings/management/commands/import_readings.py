from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.readings.services import UnableToImportReadings, readings_import_file


class Command(BaseCommand):
    help = "Import daily frozen readings (CSV or xlsx): all rows or none."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", help="import as this user (only their units' meters)")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            path.stat()
        except OSError as error:
            raise CommandError(f"无法读取 {path}：{error.strerror}") from error
        actor = command_actor(options["user"]) if options["user"] else None

        def progress(done: int, message: str) -> None:
            sys.stderr.write(f"\r{message} {done}".ljust(50))
            sys.stderr.flush()

        try:
            with path.open("rb") as data:  # read as it goes, never whole
                result = readings_import_file(
                    actor=actor,
                    data=data,
                    file_name=path.name,
                    today=timezone.localdate(),
                    now=timezone.now(),
                    progress=progress,
                )
        except (UnableToImportReadings, UnreadableSpreadsheet, ActionNotAllowed) as error:
            sys.stderr.write("\n")
            problems = getattr(error, "problems", None) or [str(error)]
            if options["format"] == "json":
                self.stdout.write(json.dumps({"errors": problems}, ensure_ascii=False))
            raise CommandError("未导入，问题如下：\n" + "\n".join(problems)) from error
        sys.stderr.write("\n")
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"已导入 {result.rows} 行：新增 {result.created}，更正 {result.corrected}，"
                f"未变 {result.unchanged}。"
            )
