"""``refmeter db_worker``: django-tasks-db's worker, which also recovers dead workers' jobs."""

from __future__ import annotations

import os
from typing import Any

from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from refmeter.common.workers import recover_now, recovery_start


class Command(DatabaseWorkerCommand):
    help = (
        "Run a database task worker. On start and every half lease it retries or fails "
        "the jobs whose worker died (REFMETER_JOB_LEASE_SECONDS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        reloading = options.get("reload") and not options.get("batch")
        if reloading and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # The autoreloader's parent only restarts the worker; its child recovers.
            super().handle(*args, **options)
            return
        recover_now(clock=timezone.now)
        stop = recovery_start(clock=timezone.now)
        try:
            super().handle(*args, **options)
        finally:
            stop()
