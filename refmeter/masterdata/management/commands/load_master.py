from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.masterdata.management.base import details, progress, refuse, summary, with_urls
from refmeter.masterdata.services import UnableToLoadMasterData, master_load
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed


class Command(BaseCommand):
    help = (
        "Load every master-data file of DIR (units.xlsx, users.xlsx, customers.xlsx, "
        "device-types.xlsx, tariffs.xlsx, areas.xlsx, access-points.xlsx, nearby-index.xlsx) "
        "in that order: all files or none."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("directory")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--user", help="the administrator the changes are recorded under")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        if not directory.is_dir():
            raise CommandError(f"{directory} 不是目录。")
        actor = command_actor(options["user"])
        as_json = options["format"] == "json"
        try:
            result = master_load(
                actor=actor,
                directory=directory,
                now=timezone.now(),
                dry_run=options["dry_run"],
                progress=progress,
            )
        except (UnableToLoadMasterData, UnreadableSpreadsheet, ActionNotAllowed) as error:
            raise refuse(self, getattr(error, "problems", None) or [str(error)], as_json) from error
        sys.stderr.write("\n")
        loads = [item if item["kind"] == "nearby_index" else with_urls(item)
                 for item in result.results]  # fmt: skip
        if as_json:
            self.stdout.write(
                json.dumps({"dry_run": result.dry_run, "loads": loads}, ensure_ascii=False)
            )
            return
        for item in loads:
            if item["kind"] == "nearby_index":
                self.stdout.write(
                    f"{item['file_name']}：就近户号新增 {item['created']}，更新 {item['updated']}，"
                    f"未变 {item['unchanged']}。"
                )
            else:
                self.stdout.write(summary(item))
                for line in details(item):
                    self.stdout.write(line)
