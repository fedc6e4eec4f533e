from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.labels.selectors import scan_view
from refmeter.labels.services import scan_record


class Command(BaseCommand):
    help = "Verify a label token or scan URL; exits non-zero for an invalid label."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("token", help="the token, or the URL the QR code holds")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        check = scan_record(token=options["token"], user=None, now=timezone.now(), via="cli")
        view = scan_view(check=check, user=None, today=timezone.localdate())
        report = {
            "valid": view.valid,
            "result": view.result,
            "reason": view.reason,
            "serial": view.serial,
            "account_number": view.account_number,
            "name": view.name,
            "device_address": view.device_address,
            "access_point": view.access_point,
            "area": view.area,
            "customer": view.customer,
            "base_account_number": view.base_account_number,
        }
        if options["format"] == "json":
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        elif view.valid:
            self.stdout.write(
                f"有效标签：序号 {view.serial}，户号 {view.account_number} {view.name}，"
                f"{view.device_address}，接入点 {view.access_point}，台区 {view.area}"
            )
        if not view.valid:
            raise CommandError(f"无效标签：{view.reason}")
