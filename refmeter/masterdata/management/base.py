"""The master-data commands: ``load-<what> FILE [--dry-run] [--format json]`` and
``export-<what> FILE``, one class each, told apart by their kind."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.common.spreadsheets import UnreadableSpreadsheet, spreadsheet_bytes
from refmeter.masterdata.selectors import master_export
from refmeter.masterdata.services import LoadResult, UnableToLoadMasterData, load_file
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed


def progress(done: int, total: int, message: str) -> None:
    # Progress goes to stderr, so --format json stays parseable on stdout.
    figures = f"{done}/{total}" if total else ""
    sys.stderr.write(f"\r{message} {figures}".ljust(60))
    sys.stderr.flush()


def summary(result: dict[str, Any]) -> str:
    return (
        ("（仅检查，未写入）" if result.get("dry_run") else "")
        + f"{result['file_name']}：共 {result['rows']} 行；新建 {result['created']}，"
        f"修改 {result['changed']}，未变 {result['unchanged']}，截止 {result['closed']}。"
    )


def with_urls(result: dict[str, Any]) -> dict[str, Any]:
    """The result with the full address of each new user's one-time set-password link
    (the server's address is ``REFMETER_LABEL_BASE_URL``)."""
    base = str(settings.REFMETER_LABEL_BASE_URL).rstrip("/")
    links = [{**link, "url": base + link["path"]} for link in result.get("links", [])]
    return {**result, "links": links}


def details(result: dict[str, Any]) -> list[str]:
    """What the text output says below the summary: the notes and the links."""
    lines = list(result.get("notes", []))
    lines += [
        f"设置密码链接（一次有效）{link['username']} {link['name']}：{link['url']}"
        for link in result.get("links", [])
    ]
    return lines


def refuse(command: BaseCommand, problems: list[str], as_json: bool) -> CommandError:
    sys.stderr.write("\n")
    if as_json:
        command.stdout.write(json.dumps({"errors": problems}, ensure_ascii=False))
    return CommandError(f"未导入，共 {len(problems)} 个问题：\n" + "\n".join(problems))


class LoadCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--user", help="the administrator the changes are recorded under")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            path.stat()
        except OSError as error:
            raise CommandError(f"无法读取 {path}：{error.strerror}") from error
        actor = command_actor(options["user"])
        as_json = options["format"] == "json"
        try:
            result: LoadResult = load_file(
                kind=self.kind,
                actor=actor,
                data=spreadsheet_bytes(path),
                file_name=path.name,
                now=timezone.now(),
                dry_run=options["dry_run"],
                progress=progress,
            )
        except (UnableToLoadMasterData, UnreadableSpreadsheet, ActionNotAllowed) as error:
            raise refuse(self, getattr(error, "problems", None) or [str(error)], as_json) from error
        sys.stderr.write("\n")
        figures = with_urls(result.as_dict())
        if as_json:
            self.stdout.write(json.dumps(figures, ensure_ascii=False))
        else:
            self.stdout.write(summary(figures))
            for line in details(figures):
                self.stdout.write(line)


class ExportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="FILE.xlsx, or FILE.csv for CSV in UTF-8")
        parser.add_argument("--user", help="export only this administrator's units")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        actor = command_actor(options["user"]) if options["user"] else None
        try:
            content = master_export(
                kind=self.kind, actor=actor, as_csv=path.suffix.lower() == ".csv"
            )
        except ActionNotAllowed as error:
            raise CommandError(str(error)) from error
        try:
            path.write_bytes(content)
        except OSError as error:
            raise CommandError(f"无法写入 {path}：{error.strerror}") from error
        if options["format"] == "json":
            self.stdout.write(json.dumps({"file": str(path), "bytes": len(content)}))
        else:
            self.stdout.write(f"已导出 {path}")
