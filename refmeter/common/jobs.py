"""Background jobs: their progress, which pages and the command line show, and their lease.

A task runs its job inside :func:`job_run`. The job then holds a lease: its ``heartbeat_at``
is renewed by every progress report and, during long steps, by a heartbeat thread. A job
whose heartbeat is older than ``REFMETER_JOB_LEASE_SECONDS`` lost its worker;
:func:`jobs_recover` re-enqueues it, up to ``REFMETER_JOB_MAX_ATTEMPTS`` attempts in all,
then fails it with a message the job's page shows. Each attempt is numbered, and only the
latest one may report progress or finish the job, so a worker that lost its lease (and is
not dead after all) cannot overwrite the work of the retry.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import DatabaseError, OperationalError, connections, models, transaction
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from refmeter.common.models import Job, JobStatus

logger = logging.getLogger("refmeter.jobs")

DEFAULT_LEASE_SECONDS = 300
DEFAULT_MAX_ATTEMPTS = 3

TaskT = TypeVar("TaskT", bound=Task)

# Tasks that run one job, their one argument being the job's id (see ``job_task``).
_JOB_TASKS: set[str] = set()


class JobNotCurrent(Exception):
    """This attempt may not run or finish the job: it already ran, runs elsewhere, or the
    attempt lost its lease and the job was handed to a retry."""


class WorkerLost(Exception):
    """Recorded on a task result whose worker died (the job's lease ran out)."""


def lease_seconds() -> float:
    return float(getattr(settings, "REFMETER_JOB_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def max_attempts() -> int:
    return int(getattr(settings, "REFMETER_JOB_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def job_task(task: TaskT) -> TaskT:
    """Mark a task that runs one job (its one argument is the job id), so recovery can find
    the job of a task result whose worker died before the job began."""
    _JOB_TASKS.add(task.module_path)
    return task


def job_create(*, kind: str, created_by: Any, parameters: dict[str, Any], now: dt.datetime) -> Job:
    return Job.objects.create(
        kind=kind, created_by=created_by, parameters=parameters, created_at=now
    )


def _not_current(job_id: int) -> JobNotCurrent:
    return JobNotCurrent(
        _("任务 #%(job)d 已由其他工作进程运行或已结束，本次运行未保存任何结果。") % {"job": job_id}
    )


def job_progress(
    *,
    job_id: int,
    done: int,
    total: int,
    message: str = "",
    attempt: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Report progress (and, given ``now``, renew the lease). Inside a transaction this is
    only seen once the transaction ends, so long jobs report while they read and check,
    and once before they write; the heartbeat thread keeps the lease meanwhile.

    Given ``attempt``, only that attempt of a running job reports; any other gets
    :class:`JobNotCurrent`, which stops the work of an attempt that lost its lease."""
    values: dict[str, Any] = {
        "status": JobStatus.RUNNING,
        "progress_done": done,
        "progress_total": total,
        "message": message[:300],
    }
    if now is not None:
        values["heartbeat_at"] = now
    jobs = Job.objects.filter(pk=job_id)
    if attempt is not None:
        jobs = jobs.filter(status=JobStatus.RUNNING, attempts=attempt)
    if not jobs.update(**values) and attempt is not None:
        raise _not_current(job_id)


def job_heartbeat(*, job_id: int, attempt: int, now: dt.datetime) -> bool:
    """Renew the lease of this attempt; False once the job is no longer this attempt's."""
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
            heartbeat_at=now
        )
    )


def job_begin(
    *, job_id: int, now: dt.datetime, message: str = "", task_result_id: str = ""
) -> tuple[Job, Any]:
    """Take a queued job as a new attempt (its lease starting now) and return it with the
    user who asked for it, whose unit the job's work is scoped to.

    A job that is already running or finished is refused with :class:`JobNotCurrent`, so
    a task delivered twice does its work once. A job re-enqueued by recovery is taken only
    by the task result recovery enqueued."""
    taken = (
        Job.objects.filter(pk=job_id, status=JobStatus.QUEUED)
        .filter(models.Q(task_result_id="") | models.Q(task_result_id=task_result_id))
        .update(
            status=JobStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            attempts=models.F("attempts") + 1,
            task_result_id=task_result_id,
            message=message[:300],
        )
    )
    if not taken:
        raise _not_current(job_id)
    job = Job.objects.select_related("created_by__unit").get(pk=job_id)
    if job.created_by is None:
        raise RuntimeError("a background job runs on behalf of the user who started it")
    return job, job.created_by


def job_upload(job: Job) -> bytes:
    """The file uploaded for the job, kept in storage so the page could return at once."""
    with default_storage.open(job.parameters["path"], "rb") as stored:
        return bytes(stored.read())


def job_succeed(
    *,
    job_id: int,
    attempt: int,
    now: dt.datetime,
    result: dict[str, Any] | None = None,
    message: str = "",
) -> None:
    """Record success inside the transaction of the job's work, so that the work and the
    record of it commit together or not at all. The job's row stays locked until then;
    an attempt that is no longer the job's gets :class:`JobNotCurrent` (roll back)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a job succeeds inside the transaction of its work")
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING or job.attempts != attempt:
        raise _not_current(job_id)
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED,
        finished_at=now,
        heartbeat_at=None,
        result=result or {},
        errors=[],
        message=message[:300],
    )


def job_finish(
    *,
    job_id: int,
    now: dt.datetime,
    result: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    message: str = "",
    attempt: int | None = None,
) -> bool:
    """Finish the job after its work (failed if there are errors). Given ``attempt``, only
    that attempt of a running job is finished; returns whether the job was finished."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("a job is finished outside the transaction of its work")
    jobs = Job.objects.filter(pk=job_id)
    if attempt is not None:
        jobs = jobs.filter(status=JobStatus.RUNNING, attempts=attempt)
    return bool(
        jobs.update(
            status=JobStatus.FAILED if errors else JobStatus.SUCCEEDED,
            finished_at=now,
            heartbeat_at=None,
            result=result or {},
            errors=errors or [],
            message=message[:300],
        )
    )


# Running a job: the attempt, its progress and its heartbeat.


@dataclass
class JobRun:
    """One attempt at a job, as the task sees it."""

    job: Job
    user: Any
    attempt: int
    clock: Callable[[], dt.datetime]

    @property
    def job_id(self) -> int:
        return self.job.pk

    def progress(self, *, done: int, total: int, message: str = "") -> None:
        job_progress(job_id=self.job.pk, attempt=self.attempt, done=done, total=total,
                     message=message, now=self.clock())  # fmt: skip

    def succeed(
        self, *, now: dt.datetime, result: dict[str, Any] | None = None, message: str = ""
    ) -> None:
        job_succeed(job_id=self.job.pk, attempt=self.attempt, now=now, result=result,
                    message=message)  # fmt: skip

    def fail(self, *, now: dt.datetime, errors: list[str], message: str = "") -> None:
        job_finish(job_id=self.job.pk, attempt=self.attempt, now=now, errors=errors,
                   message=message)  # fmt: skip

    def finish(
        self, *, now: dt.datetime, result: dict[str, Any] | None = None, message: str = ""
    ) -> None:
        job_finish(job_id=self.job.pk, attempt=self.attempt, now=now, result=result,
                   message=message)  # fmt: skip


class _Heartbeat(threading.Thread):
    """Renews an attempt's lease every quarter lease on its own database connection, so
    the lease holds while the task sits in one long step or one long transaction."""

    def __init__(
        self, *, job_id: int, attempt: int, clock: Callable[[], dt.datetime], interval: float
    ) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id = job_id
        self.attempt = attempt
        self.clock = clock
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    if not job_heartbeat(job_id=self.job_id, attempt=self.attempt,
                                         now=self.clock()):  # fmt: skip
                        return
                except DatabaseError:
                    # SQLite is busy with the task's own transaction; try again next beat.
                    logger.debug("job %s: heartbeat not written", self.job_id, exc_info=True)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=2)


@contextmanager
def job_run(
    *,
    job_id: int,
    task_result_id: str,
    clock: Callable[[], dt.datetime],
    message: str = "",
) -> Iterator[JobRun]:
    """Run one attempt at a queued job: take it (:func:`job_begin`), keep its lease with a
    heartbeat thread while the block runs, and stop the heartbeat after.

    An unexpected error fails the job with a message for the user, then propagates so the
    task result records it. A database that went away (``OperationalError``) or a worker
    being stopped leaves the job to its lease: recovery retries it."""
    job, user = job_begin(job_id=job_id, now=clock(), message=message,
                          task_result_id=task_result_id)  # fmt: skip
    run = JobRun(job=job, user=user, attempt=job.attempts, clock=clock)
    heartbeat = _Heartbeat(job_id=job_id, attempt=run.attempt, clock=clock,
                           interval=lease_seconds() / 4)  # fmt: skip
    heartbeat.start()
    try:
        yield run
    except (JobNotCurrent, OperationalError):
        raise
    except PermissionDenied as refusal:
        # The user lost the right to this work after asking for it: say why, calmly.
        try:
            run.fail(now=clock(), errors=[str(refusal)], message=str(refusal))
        except DatabaseError:
            logger.exception("job %s: could not record the refusal", job_id)
    except Exception as error:
        problem = _("后台任务意外出错（%(error)s），未能完成。请联系系统管理员。") % {
            "error": type(error).__name__
        }
        try:
            run.fail(now=clock(), errors=[problem], message=problem)
        except DatabaseError:
            logger.exception("job %s: could not record the failure", job_id)
        raise
    finally:
        heartbeat.stop()


# Recovery: jobs whose worker died.


@dataclass
class JobRecovery:
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    results_closed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "retried": self.retried,
            "failed": self.failed,
            "results_closed": self.results_closed,
        }


def _is_job_task(result: DBTaskResult) -> bool:
    try:
        result.task  # noqa: B018 - importing the task's module registers it
    except Exception:  # its module, function or backend is gone
        return False
    return result.task_path in _JOB_TASKS


def _result_of(job: Job) -> DBTaskResult | None:
    """The task result running the job: the one it began under, else (a job begun before
    leases, or never begun) a running result of a job task whose argument is the job."""
    if job.task_result_id:
        return DBTaskResult.objects.filter(pk=job.task_result_id).first()
    for result in DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, args_kwargs={"args": [job.pk], "kwargs": {}}
    ):
        if _is_job_task(result):
            return result
    return None


def _job_of(result: DBTaskResult) -> Job | None:
    job = Job.objects.filter(task_result_id=str(result.pk)).first()
    if job is not None:
        return job
    arguments = result.args_kwargs or {}
    args, kwargs = arguments.get("args") or [], arguments.get("kwargs") or {}
    if len(args) != 1 or kwargs or not isinstance(args[0], int) or not _is_job_task(result):
        return None
    return Job.objects.filter(pk=args[0]).first()


def _close_result(result: DBTaskResult, *, now: dt.datetime, reason: str) -> int:
    """Mark a running task result failed because its worker is gone."""
    return DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        return_value=None,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: {reason}\n",
    )


def _retry_or_fail(
    job: Job, result: DBTaskResult | None, *, now: dt.datetime, outcome: JobRecovery
) -> None:
    """The job lost its worker: enqueue it again while attempts remain, else fail it."""
    attempts = max(job.attempts, 1)
    retry = None
    if result is not None and attempts < max_attempts():
        try:
            retry = result.task.enqueue(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])
        except DatabaseError:
            raise
        except Exception:  # its task or backend is gone: the job cannot run again
            logger.exception("job %s: could not be queued again", job.pk)
    if retry is not None:
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED,
            attempts=attempts,
            heartbeat_at=None,
            task_result_id=str(retry.id),
            message=_("工作进程中断，任务已重新排队（已尝试 %(attempts)d 次）。")
            % {"attempts": attempts},
        )
        outcome.retried.append(job.pk)
        logger.warning("job %s: worker lost, queued again (attempt %s done)", job.pk, attempts)
        return
    problem = _("工作进程中断，任务已尝试 %(attempts)d 次仍未完成。请重新提交。") % {
        "attempts": attempts
    }
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED,
        attempts=attempts,
        finished_at=now,
        heartbeat_at=None,
        errors=[problem],
        message=problem,
    )
    outcome.failed.append(job.pk)
    logger.warning("job %s: worker lost after %s attempts, failed", job.pk, attempts)


def _stale(cutoff: dt.datetime) -> models.Q:
    return models.Q(heartbeat_at__lt=cutoff) | models.Q(
        heartbeat_at__isnull=True, started_at__lt=cutoff
    )


def _recover_job(
    job_id: int, *, now: dt.datetime, cutoff: dt.datetime, outcome: JobRecovery
) -> None:
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(_stale(cutoff), pk=job_id, status=JobStatus.RUNNING)
            .first()
        )
        if job is None:  # renewed, finished, or being recovered by someone else
            return
        result = _result_of(job)
        reason = _("任务 #%(job)d 的租约已于 %(at)s 到期，工作进程已中断。") % {
            "job": job.pk,
            "at": (job.heartbeat_at or job.started_at or now).isoformat(),
        }
        if result is not None:
            outcome.results_closed += _close_result(result, now=now, reason=reason)
        _retry_or_fail(job, result, now=now, outcome=outcome)


def _recover_result(
    result_id: Any, *, now: dt.datetime, cutoff: dt.datetime, outcome: JobRecovery
) -> None:
    """A task result left running longer than a lease whose job does not hold the lease."""
    with transaction.atomic():
        result = (
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(pk=result_id, status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
            .first()
        )
        if result is None:
            return
        job = _job_of(result)
        if job is None:  # not a job's task: not ours to judge
            return
        job = Job.objects.select_for_update(skip_locked=True).filter(pk=job.pk).first()
        if job is None:
            return
        mine = job.task_result_id in ("", str(result.pk))
        if job.status == JobStatus.RUNNING and mine:
            return  # the job's lease decides (see _recover_job)
        if job.status == JobStatus.SUCCEEDED and mine:
            # The work committed; the worker died before it marked its task result.
            outcome.results_closed += DBTaskResult.objects.filter(pk=result.pk).update(
                status=TaskResultStatus.SUCCESSFUL, finished_at=now, return_value=None
            )
            return
        reason = _("工作进程在任务 #%(job)d 开始前或结束后中断。") % {"job": job.pk}
        outcome.results_closed += _close_result(result, now=now, reason=reason)
        if job.status == JobStatus.QUEUED and mine:
            # Claimed by a worker that died before the job began.
            job.attempts += 1
            _retry_or_fail(job, result, now=now, outcome=outcome)


def jobs_recover(*, now: dt.datetime) -> JobRecovery:
    """Retry or fail every job whose lease ran out at ``now``, and close the task results
    their dead workers left running. Safe to run from any number of processes at once."""
    outcome = JobRecovery()
    cutoff = now - dt.timedelta(seconds=lease_seconds())
    stale_jobs = list(
        Job.objects.filter(_stale(cutoff), status=JobStatus.RUNNING).values_list("pk", flat=True)
    )
    for job_id in stale_jobs:
        try:
            _recover_job(job_id, now=now, cutoff=cutoff, outcome=outcome)
        except OperationalError:
            logger.warning("job %s: recovery deferred, database busy", job_id, exc_info=True)
    stale_results = list(
        DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for result_id in stale_results:
        try:
            _recover_result(result_id, now=now, cutoff=cutoff, outcome=outcome)
        except OperationalError:
            logger.warning("task result %s: recovery deferred", result_id, exc_info=True)
    return outcome
