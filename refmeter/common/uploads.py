"""Uploaded files kept for background imports: where they go, how long they stay.

A page stores the upload under ``imports/`` and hands it to a job. A refused upload is
deleted as soon as the job fails; an accepted one is kept for
``REFMETER_UPLOAD_RETENTION_DAYS`` days (to trace an import back to its file), after
which :func:`uploads_purge` (the ``purge-uploads`` command) deletes it. See
docs/operations.md.
"""

from __future__ import annotations

import datetime as dt
from typing import IO, cast

from django.conf import settings
from django.core.files.storage import default_storage

UPLOADS_DIR = "imports"


def retention_days() -> int:
    return int(getattr(settings, "REFMETER_UPLOAD_RETENTION_DAYS", 30))


def upload_open(path: str) -> IO[bytes]:
    """The stored upload as an open binary file (close it, or use it in ``with``)."""
    return cast(IO[bytes], default_storage.open(path, "rb"))


def upload_discard(path: str) -> None:
    """Delete a stored upload (nothing happens if it is already gone)."""
    if path:
        default_storage.delete(path)


def uploads_purge(*, now: dt.datetime, days: int | None = None) -> list[str]:
    """Delete the stored uploads last written more than ``days`` (the retention) before
    ``now``; returns their paths."""
    cutoff = now - dt.timedelta(days=retention_days() if days is None else days)
    deleted: list[str] = []
    pending = [UPLOADS_DIR]
    while pending:
        folder = pending.pop()
        if not default_storage.exists(folder):
            continue
        folders, files = default_storage.listdir(folder)
        pending.extend(f"{folder}/{name}" for name in folders)
        for name in files:
            path = f"{folder}/{name}"
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                deleted.append(path)
    return sorted(deleted)
