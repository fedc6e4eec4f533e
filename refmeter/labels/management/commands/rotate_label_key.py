from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.labels.services import UnableToRotateKey, signing_key_rotate


class Command(BaseCommand):
    help = "Start signing new labels with a new key; earlier labels stay valid until voided."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = signing_key_rotate(now=timezone.now())
        except UnableToRotateKey as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"新的标签签名密钥 #{key.key_id} 已启用，公钥 {key.public_key}")
