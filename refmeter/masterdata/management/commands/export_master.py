from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from refmeter.masterdata.selectors import EXPORT_ORDER, file_name_of, master_export
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed


class Command(BaseCommand):
    help = (
        "Write every master-data export (units, users, customers, device types, tariffs, areas, "
        "access points, nearby-number index) into DIR, as load-master reads them."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("directory")
        parser.add_argument("--user", help="export only this administrator's units")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"无法创建目录 {directory}：{error.strerror}") from error
        actor = command_actor(options["user"]) if options["user"] else None
        written = []
        for kind in EXPORT_ORDER:
            path = directory / file_name_of(kind)
            try:
                path.write_bytes(master_export(kind=kind, actor=actor))
            except ActionNotAllowed as error:
                raise CommandError(str(error)) from error
            except OSError as error:
                raise CommandError(f"无法写入 {path}：{error.strerror}") from error
            written.append(path.name)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"directory": str(directory), "files": written}))
        else:
            self.stdout.write(f"已导出到 {directory}：" + "、".join(written))
