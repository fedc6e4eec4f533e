from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from refmeter.organisations.selectors import api_tokens_list


def _when(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


class Command(BaseCommand):
    help = "List API tokens (of one user, if named): state, expiry and last use (to the minute)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        lines = api_tokens_list(username=options["username"], now=timezone.now())
        rows = [
            {
                "username": line.username,
                "name": line.name,
                "prefix": line.prefix,
                "state": line.state,
                "created_at": _when(line.created_at),
                "expires_at": _when(line.expires_at),
                "last_used_at": _when(line.last_used_at),
                "revoked_at": _when(line.revoked_at),
            }
            for line in lines
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for line in lines:
            self.stdout.write(
                "\t".join(
                    [
                        line.username,
                        f"{line.prefix}…",
                        line.name,
                        line.state,
                        timezone.localtime(line.expires_at).strftime("%Y-%m-%d %H:%M"),
                        timezone.localtime(line.last_used_at).strftime("%Y-%m-%d %H:%M")
                        if line.last_used_at
                        else "—",
                    ]
                )
            )
