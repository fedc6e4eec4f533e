from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
from refmeter.organisations.management.actor import command_actor
from refmeter.spreadsheets.application_list import parse_application_list
from refmeter.spreadsheets.selectors import (
    LineResolution,
    application_list_check,
    application_list_group,
)


def _line(resolution: LineResolution) -> dict[str, Any]:
    line = resolution.line
    return {
        "row_number": line.row_number,
        "action": line.action,
        "name": line.name,
        "position": line.position,
        "nearby_number": line.nearby_number,
        "account_number": resolution.account_number or None,
        "access_point_number": resolution.access_point_number or None,
        "access_point_name": resolution.access_point_name or None,
        "area_number": resolution.area_number or None,
        "area_name": resolution.area_name or None,
        "unresolved": resolution.unresolved or None,
    }


class Command(BaseCommand):
    help = (
        "Check a connection application list (attachment 4) as the acceptance step does: "
        "each row's access point and area, and every problem. Writes nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--user", help="check as this user: only their units' groups and access points"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options["user"]) if options["user"] else None
        path = Path(options["file"])
        try:
            path.stat()
            rows = open_sheets(path)[0].rows  # its size and content are checked before reading
        except OSError as error:
            raise CommandError(f"无法读取 {path}：{error.strerror}") from error
        except UnreadableSpreadsheet as error:
            raise CommandError(str(error)) from error
        parsed = parse_application_list(rows)
        group = application_list_group(parsed=parsed, user=actor)
        check = application_list_check(parsed=parsed, group=group, user=actor)
        problems = [str(problem) for problem in check.problems]
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "device_type": parsed.device_type,
                        "base_account_number": parsed.base_account_number,
                        "group": (
                            {
                                "base_account_number": parsed.base_account_number,
                                "active_sub_accounts": check.active_sub_accounts,
                            }
                            if group
                            else None
                        ),
                        "adding": check.adding,
                        "cancelling": check.cancelling,
                        "sub_accounts_after": check.sub_accounts_after,
                        "lines": [_line(resolution) for resolution in check.resolutions],
                        "problems": problems,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            if not parsed.base_account_number:
                base = "（未填，按新装检查）"
            elif group is None:
                base = f"{parsed.base_account_number}（不是在用群组的基准户，按新装检查）"
            else:
                base = (
                    f"{parsed.base_account_number}（在用虚拟子户 {check.active_sub_accounts} 个）"
                )
            self.stdout.write(f"设备类型：{parsed.device_type or '（未填）'}  虚拟户号：{base}")
            for resolution in check.resolutions:
                line = resolution.line
                action = "新增" if line.action == "add" else f"取消 {resolution.account_number}"
                if resolution.access_point_number:
                    place = (
                        f"接入点 {resolution.access_point_number} {resolution.access_point_name}，"
                        f"台区 {resolution.area_number} {resolution.area_name}"
                    )
                    if resolution.unresolved:
                        place += f"（{resolution.unresolved}）"
                else:
                    place = f"未解析：{resolution.unresolved or '无接入点'}"
                self.stdout.write(
                    f"  第 {line.row_number} 行 {action.strip()} {line.name} | {line.position} | "
                    f"{line.nearby_number} → {place}"
                )
            self.stdout.write(f"共 {len(parsed.lines)} 个点位，{len(problems)} 个问题。")
        if problems:
            raise CommandError("清单有问题：\n" + "\n".join(problems))
