from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.organisations.models import User
from refmeter.organisations.services import api_token_create


class Command(BaseCommand):
    help = "Issue an API token for a user; it is printed once and only its hash is kept."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("purpose", help="what the token is for, e.g. 营销系统接口")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {options['username']} 不存在或已停用。")
        key = api_token_create(user=user, name=options["purpose"], now=timezone.now())
        if options["format"] == "json":
            self.stdout.write(json.dumps({"username": user.username, "token": key}))
        else:
            self.stdout.write(key)
