from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.selectors import api_token_expiry
from refmeter.organisations.services import UnableToCreateToken, api_token_create


class Command(BaseCommand):
    help = (
        "Issue an API token for a user; it is printed once and only its hash is kept. "
        "It expires after REFMETER_API_TOKEN_DAYS (or --days) and when the user's password "
        "changes."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("purpose", help="what the token is for, e.g. 营销系统接口")
        parser.add_argument(
            "--days", type=int, default=None, help="days until it expires (default: the setting)"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        user = command_actor(options["username"])
        try:
            key = api_token_create(
                user=user, name=options["purpose"], now=timezone.now(), days=options["days"]
            )
        except UnableToCreateToken as refusal:
            raise CommandError(str(refusal)) from refusal
        expiry = api_token_expiry(key=key)
        assert expiry is not None
        expires_at = timezone.localtime(expiry)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "username": user.username,
                        "token": key,
                        "expires_at": expires_at.isoformat(),
                    }
                )
            )
        else:
            self.stdout.write(key)
            self.stderr.write(
                _("有效期至 %(when)s。") % {"when": expires_at.strftime("%Y-%m-%d %H:%M")}
            )
