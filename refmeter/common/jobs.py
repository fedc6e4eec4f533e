"""Recording a background job's progress, so pages and the command line can show it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction

from refmeter.common.models import Job, JobStatus


def job_create(*, kind: str, created_by: Any, parameters: dict[str, Any], now: dt.datetime) -> Job:
    return Job.objects.create(
        kind=kind, created_by=created_by, parameters=parameters, created_at=now
    )


def job_progress(*, job_id: int, done: int, total: int, message: str = "") -> None:
    """Report progress. Inside a transaction this is only seen once the transaction ends,
    so long jobs report while they read and check, and once before they write."""
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.RUNNING, progress_done=done, progress_total=total, message=message[:300]
    )


def job_start(*, job_id: int, now: dt.datetime, message: str = "") -> None:
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.RUNNING, started_at=now, message=message[:300]
    )


def job_begin(*, job_id: int, now: dt.datetime, message: str = "") -> tuple[Job, Any]:
    """Mark the job running and return it with the user who asked for it, whose unit
    the job's work is scoped to."""
    job_start(job_id=job_id, now=now, message=message)
    job = Job.objects.select_related("created_by__unit").get(pk=job_id)
    if job.created_by is None:
        raise RuntimeError("a background job runs on behalf of the user who started it")
    return job, job.created_by


def job_upload(job: Job) -> bytes:
    """The file uploaded for the job, kept in storage so the page could return at once."""
    with default_storage.open(job.parameters["path"], "rb") as stored:
        return bytes(stored.read())


def job_finish(
    *,
    job_id: int,
    now: dt.datetime,
    result: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    message: str = "",
) -> None:
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("a job is finished outside the transaction of its work")
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED if errors else JobStatus.SUCCEEDED,
        finished_at=now,
        result=result or {},
        errors=errors or [],
        message=message[:300],
    )
