from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.services import api_token_create


class Command(BaseCommand):
    help = "Issue an API token for a user; it is printed once and only its hash is kept."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("purpose", help="what the token is for, e.g. 营销系统接口")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        user = command_actor(options["username"])
        key = api_token_create(user=user, name=options["purpose"], now=timezone.now())
        if options["format"] == "json":
            self.stdout.write(json.dumps({"username": user.username, "token": key}))
        else:
            self.stdout.write(key)
