from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
from refmeter.spreadsheets.application_list import parse_application_list


class Command(BaseCommand):
    help = "Parse a connection application list (attachment 4); report its rows and every problem."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            rows = open_sheets(path.read_bytes())[0].rows
        except OSError as error:
            raise CommandError(f"无法读取 {path}：{error.strerror}") from error
        except UnreadableSpreadsheet as error:
            raise CommandError(str(error)) from error
        parsed = parse_application_list(rows)
        problems = [str(problem) for problem in parsed.problems]
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "device_type": parsed.device_type,
                        "base_account_number": parsed.base_account_number,
                        "lines": [line.__dict__ for line in parsed.lines],
                        "problems": problems,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            self.stdout.write(
                f"设备类型：{parsed.device_type or '（未填）'}  "
                f"虚拟户号：{parsed.base_account_number or '（未填）'}"
            )
            for line in parsed.lines:
                action = "新增" if line.action == "add" else "取消"
                self.stdout.write(
                    f"  第 {line.row_number} 行 {action} {line.name} | {line.position} | "
                    f"{line.nearby_number}"
                )
            self.stdout.write(f"共 {len(parsed.lines)} 个点位，{len(problems)} 个问题。")
        if problems:
            raise CommandError("清单有问题：\n" + "\n".join(problems))
