"""``refmeter recover-jobs``: retry or fail the jobs whose worker died (for cron)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.jobs import jobs_recover


class Command(BaseCommand):
    help = "Retry or fail background jobs whose lease ran out (their worker died)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = jobs_recover(now=timezone.now())
        if options["format"] == "json":
            self.stdout.write(json.dumps(outcome.as_dict()))
            return
        self.stdout.write(
            _(
                "重新排队 %(retried)d 个任务，标记失败 %(failed)d 个任务，关闭 %(closed)d 条任务结果。"
            )
            % {
                "retried": len(outcome.retried),
                "failed": len(outcome.failed),
                "closed": outcome.results_closed,
            }
        )
