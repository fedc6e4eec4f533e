"""Health for monitoring: the database answers, every migration is applied, and a task
worker was seen recently (workers record themselves as they run job recovery)."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from refmeter.common.models import WorkerBeat

# A worker row not renewed for this long belongs to a process that is gone.
FORGET_AFTER = dt.timedelta(days=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_beat(*, now: dt.datetime, name: str | None = None) -> None:
    """Record that this worker process is alive; forget processes long gone."""
    WorkerBeat.objects.update_or_create(name=name or worker_name(), defaults={"seen_at": now})
    WorkerBeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def worker_window() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "REFMETER_HEALTH_WORKER_MINUTES", 10)))


@dataclass(frozen=True)
class Health:
    database: bool
    migrations: bool
    worker_seen_at: dt.datetime | None
    worker: bool

    @property
    def ok(self) -> bool:
        return self.database and self.migrations and self.worker

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "failing",
            "database": "ok" if self.database else "unreachable",
            "migrations": "ok" if self.migrations else "unapplied",
            "worker": "ok" if self.worker else "not seen",
            "worker_seen_at": self.worker_seen_at.isoformat() if self.worker_seen_at else None,
        }


_migrations_applied = False


def _all_migrations_applied() -> bool:
    # Once applied they stay applied for the life of the process: check the graph once.
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        _migrations_applied = not plan
    return _migrations_applied


def health_check(*, now: dt.datetime) -> Health:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        migrations = _all_migrations_applied()
        seen = WorkerBeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    except DatabaseError:
        return Health(database=False, migrations=False, worker_seen_at=None, worker=False)
    return Health(
        database=True,
        migrations=migrations,
        worker_seen_at=seen,
        worker=seen is not None and seen >= now - worker_window(),
    )
