from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.common.spreadsheets import UnreadableSpreadsheet, read_rows
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.registry.services import UnableToLoadNearbyIndex, nearby_index_load


class Command(BaseCommand):
    help = (
        "Load the marketing system's nearby-number export (xlsx, xls or ods) into the index, "
        "all rows or none, acting as the given user."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="the user the load is recorded under")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options["user"])
        try:
            result = nearby_index_load(
                actor=actor, rows=read_rows(options["file"]), now=timezone.now()
            )
        except (UnreadableSpreadsheet, ActionNotAllowed) as error:
            raise CommandError(str(error)) from error
        except UnableToLoadNearbyIndex as error:
            if options["format"] == "json":
                self.stdout.write(json.dumps({"errors": error.problems}, ensure_ascii=False))
            raise CommandError(
                f"未导入，共 {len(error.problems)} 个问题：\n" + "\n".join(error.problems)
            ) from error
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.__dict__))
        else:
            self.stdout.write(
                f"已导入：新增 {result.created}，更新 {result.updated}，未变 {result.unchanged}，"
                f"新建接入点 {result.access_points_created}。"
            )
