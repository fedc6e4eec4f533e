"""Background jobs: leases, heartbeats, fencing of stale attempts, and recovery."""

from __future__ import annotations

import datetime as dt
import io
import json
import signal
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskContext, TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from refmeter.audit.models import AuditEntry
from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.jobs import (
    JobNotCurrent,
    job_begin,
    job_create,
    job_finish,
    job_progress,
    job_run,
    job_succeed,
    job_task,
    jobs_recover,
)
from refmeter.common.models import Job, JobStatus
from tests import factories

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=300)
LOST = "refmeter.common.jobs.WorkerLost"
NOT_CURRENT = "refmeter.common.jobs.JobNotCurrent"


@job_task
@task(takes_context=True)
def sample_task(context: TaskContext, job_id: int) -> None:
    """A job that does what its parameters say: record one audit entry and succeed, fail
    unexpectedly, lose its database, or sleep while its heartbeat runs."""
    with job_run(
        job_id=job_id, task_result_id=str(context.task_result.id), clock=timezone.now,
        message="开始",
    ) as run:  # fmt: skip
        action = run.job.parameters.get("action", "succeed")
        if action == "crash":
            raise ValueError("boom")
        if action == "database":
            raise OperationalError("server closed the connection unexpectedly")
        with transaction.atomic():
            audit_record(
                actor=run.user,
                occurred_at=T0,
                change=AuditChange(action="sample.work", subject_type="job", subject_id=job_id),
            )
            run.succeed(now=timezone.now(), result={"worked": True}, message="完成")


@task()
def plain_task(number: int) -> None:
    """A task that runs no job."""


@pytest.fixture
def user(db):
    return factories.user(unit=factories.unit(code="33501"), username="clerk")


def create(user, **parameters) -> Job:
    return job_create(kind="sample", created_by=user, parameters=parameters, now=T0)


def snapshot(job: Job) -> dict:
    return Job.objects.filter(pk=job.pk).values().get()


def results() -> list[tuple[str, str]]:
    return sorted(
        (row.status, row.exception_class_path)
        for row in DBTaskResult.objects.all()
    )  # fmt: skip


def died_while_running(job: Job, *, at: dt.datetime = T0, attempts: int = 1) -> DBTaskResult:
    """The state a killed worker leaves: the job running under its task result, both
    stuck since ``at``."""
    result = sample_task.enqueue(job.pk)
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING, started_at=at, worker_ids=["dead"]
    )
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=at, heartbeat_at=at, attempts=attempts,
        task_result_id=str(result.id),
    )  # fmt: skip
    return DBTaskResult.objects.get(pk=result.id)


@pytest.mark.django_db(transaction=True)
class TestTakingAJob:
    def test_a_queued_job_is_taken_as_attempt_one_with_its_lease_starting_now(self, user):
        job = create(user)

        taken, actor = job_begin(job_id=job.pk, now=T0, message="开始", task_result_id="r1")

        assert actor == user
        assert (taken.status, taken.attempts, taken.started_at, taken.heartbeat_at) == (
            JobStatus.RUNNING, 1, T0, T0,
        )  # fmt: skip
        assert (taken.task_result_id, taken.message) == ("r1", "开始")

    def test_a_running_or_finished_job_is_not_taken_again(self, user):
        running = create(user)
        job_begin(job_id=running.pk, now=T0, task_result_id="r1")
        finished = create(user)
        job_begin(job_id=finished.pk, now=T0, task_result_id="r2")
        job_finish(job_id=finished.pk, now=T0, result={"n": 1})
        before = [snapshot(running), snapshot(finished)]

        with pytest.raises(JobNotCurrent):
            job_begin(job_id=running.pk, now=T0 + LEASE, task_result_id="r3")
        with pytest.raises(JobNotCurrent):
            job_begin(job_id=finished.pk, now=T0 + LEASE, task_result_id="r4")

        assert [snapshot(running), snapshot(finished)] == before

    def test_a_job_queued_again_by_recovery_is_taken_only_by_the_retry(self, user):
        job = create(user)
        Job.objects.filter(pk=job.pk).update(attempts=1, task_result_id="retry")
        before = snapshot(job)

        with pytest.raises(JobNotCurrent):
            job_begin(job_id=job.pk, now=T0, task_result_id="old")
        unchanged = snapshot(job)
        taken, _user = job_begin(job_id=job.pk, now=T0, task_result_id="retry")

        assert unchanged == before
        assert (taken.status, taken.attempts) == (JobStatus.RUNNING, 2)

    def test_a_job_delivered_twice_does_its_work_once(self, user):
        job = create(user)
        sample_task.enqueue(job.pk)
        sample_task.enqueue(job.pk)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 1, {"worked": True})
        assert AuditEntry.objects.filter(action="sample.work").count() == 1
        assert results() == [(TaskResultStatus.FAILED, NOT_CURRENT),
                             (TaskResultStatus.SUCCESSFUL, "")]  # fmt: skip


@pytest.mark.django_db(transaction=True)
class TestTheLease:
    def test_a_progress_report_renews_the_lease(self, user):
        job = create(user)
        job_begin(job_id=job.pk, now=T0, task_result_id="r1")

        job_progress(job_id=job.pk, attempt=1, done=5, total=10, message="读取",
                     now=T0 + dt.timedelta(seconds=30))  # fmt: skip

        job.refresh_from_db()
        assert (job.progress_done, job.progress_total, job.message) == (5, 10, "读取")
        assert job.heartbeat_at == T0 + dt.timedelta(seconds=30)

    def test_the_heartbeat_renews_the_lease_while_a_long_step_runs(self, user, settings):
        settings.REFMETER_JOB_LEASE_SECONDS = 0.4  # a beat every 0.1 s
        job = create(user)
        ticks = iter(T0 + dt.timedelta(seconds=second) for second in range(1000))

        with job_run(job_id=job.pk, task_result_id="r1", clock=lambda: next(ticks)):
            time.sleep(0.5)  # one long step, no progress reported

        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING
        assert job.heartbeat_at is not None and job.heartbeat_at >= T0 + dt.timedelta(seconds=2)

    def test_an_attempt_that_lost_its_lease_can_no_longer_report_progress(self, user):
        job = create(user)
        died_while_running(job, attempts=2)  # recovery handed the job to attempt 2
        before = snapshot(job)

        with pytest.raises(JobNotCurrent):
            job_progress(job_id=job.pk, attempt=1, done=9, total=10, now=T0 + LEASE)

        assert snapshot(job) == before


@pytest.mark.django_db(transaction=True)
class TestFinishing:
    def test_success_commits_together_with_the_work_or_not_at_all(self, user):
        job = create(user)
        job_begin(job_id=job.pk, now=T0, task_result_id="r1")
        before = snapshot(job)

        with pytest.raises(ZeroDivisionError), transaction.atomic():
            job_succeed(job_id=job.pk, attempt=1, now=T0, result={"n": 1})
            1 / 0  # noqa: B018 - the work fails after its success was recorded

        assert snapshot(job) == before

    def test_success_is_recorded_only_inside_the_transaction_of_the_work(self, user):
        job = create(user)
        job_begin(job_id=job.pk, now=T0, task_result_id="r1")
        before = snapshot(job)

        with pytest.raises(RuntimeError):
            job_succeed(job_id=job.pk, attempt=1, now=T0)

        assert snapshot(job) == before

    def test_an_attempt_that_lost_its_lease_cannot_succeed_or_fail_the_job(self, user):
        job = create(user)
        died_while_running(job, attempts=2)
        before = snapshot(job)

        with pytest.raises(JobNotCurrent), transaction.atomic():
            job_succeed(job_id=job.pk, attempt=1, now=T0, result={"n": 1})
        finished = job_finish(job_id=job.pk, attempt=1, now=T0, errors=["晚了"])

        assert finished is False
        assert snapshot(job) == before

    def test_an_unexpected_error_fails_the_job_with_a_message(self, user):
        job = create(user, action="crash")
        sample_task.enqueue(job.pk)

        factories.run_queued_tasks()

        job.refresh_from_db()
        message = "后台任务意外出错（ValueError），未能完成。请联系系统管理员。"
        assert (job.status, job.errors, job.message) == (JobStatus.FAILED, [message], message)
        assert results() == [(TaskResultStatus.FAILED, "builtins.ValueError")]

    def test_a_lost_database_leaves_the_job_to_its_lease(self, user):
        job = create(user, action="database")
        sample_task.enqueue(job.pk)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert (job.status, job.attempts, job.errors) == (JobStatus.RUNNING, 1, [])
        assert results() == [(TaskResultStatus.FAILED, "django.db.utils.OperationalError")]


@pytest.mark.django_db(transaction=True)
class TestRecovery:
    def test_a_job_within_its_lease_is_left_alone(self, user):
        job = create(user)
        died_while_running(job)
        before = snapshot(job)

        outcome = jobs_recover(now=T0 + LEASE)

        assert outcome.as_dict() == {"retried": [], "failed": [], "results_closed": 0}
        assert snapshot(job) == before
        assert results() == [(TaskResultStatus.RUNNING, "")]

    def test_a_job_whose_worker_died_is_queued_again_and_the_retry_completes_it(self, user):
        job = create(user)
        dead = died_while_running(job)

        outcome = jobs_recover(now=T0 + LEASE + dt.timedelta(seconds=1))

        job.refresh_from_db()
        retry = DBTaskResult.objects.exclude(pk=dead.pk).get()
        assert outcome.as_dict() == {"retried": [job.pk], "failed": [], "results_closed": 1}
        assert (job.status, job.attempts, job.task_result_id) == (
            JobStatus.QUEUED, 1, str(retry.pk),
        )  # fmt: skip
        assert job.message == "工作进程中断，任务已重新排队（已尝试 1 次）。"
        assert results() == [(TaskResultStatus.FAILED, LOST), (TaskResultStatus.READY, "")]
        assert (retry.task_path, retry.args_kwargs) == (dead.task_path, dead.args_kwargs)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
        assert AuditEntry.objects.filter(action="sample.work").count() == 1

    def test_a_job_out_of_attempts_fails_with_a_message_its_page_shows(self, user, client):
        job = create(user)
        died_while_running(job, attempts=3)
        client.force_login(user)

        outcome = jobs_recover(now=T0 + LEASE + dt.timedelta(seconds=1))

        job.refresh_from_db()
        message = "工作进程中断，任务已尝试 3 次仍未完成。请重新提交。"
        assert outcome.as_dict() == {"retried": [], "failed": [job.pk], "results_closed": 1}
        assert (job.status, job.errors, job.finished_at) == (
            JobStatus.FAILED, [message], T0 + LEASE + dt.timedelta(seconds=1),
        )  # fmt: skip
        assert results() == [(TaskResultStatus.FAILED, LOST)]
        page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
        assert "失败" in page and message in page

    def test_a_task_claimed_by_a_worker_that_died_before_the_job_began_is_retried(self, user):
        job = create(user)
        dead = sample_task.enqueue(job.pk)
        DBTaskResult.objects.filter(pk=dead.id).update(
            status=TaskResultStatus.RUNNING, started_at=T0
        )

        outcome = jobs_recover(now=T0 + LEASE + dt.timedelta(seconds=1))

        job.refresh_from_db()
        assert outcome.as_dict() == {"retried": [job.pk], "failed": [], "results_closed": 1}
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
        assert results() == [(TaskResultStatus.FAILED, LOST), (TaskResultStatus.READY, "")]

    def test_a_task_result_left_running_after_its_job_succeeded_is_closed_as_successful(self, user):
        job = create(user)
        died_while_running(job)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, heartbeat_at=None)
        before = snapshot(job)

        outcome = jobs_recover(now=T0 + LEASE + dt.timedelta(seconds=1))

        assert outcome.as_dict() == {"retried": [], "failed": [], "results_closed": 1}
        assert snapshot(job) == before
        assert results() == [(TaskResultStatus.SUCCESSFUL, "")]

    def test_a_job_begun_before_leases_is_found_by_its_task_result(self, user):
        job = create(user)
        dead = died_while_running(job, attempts=0)
        Job.objects.filter(pk=job.pk).update(heartbeat_at=None, task_result_id="")

        outcome = jobs_recover(now=T0 + LEASE + dt.timedelta(seconds=1))

        job.refresh_from_db()
        assert outcome.as_dict() == {"retried": [job.pk], "failed": [], "results_closed": 1}
        assert job.task_result_id == str(DBTaskResult.objects.exclude(pk=dead.pk).get().pk)

    def test_a_running_task_that_runs_no_job_is_left_alone(self, user):
        job = create(user)
        other = plain_task.enqueue(job.pk)
        DBTaskResult.objects.filter(pk=other.id).update(
            status=TaskResultStatus.RUNNING, started_at=T0
        )
        before = snapshot(job)

        outcome = jobs_recover(now=T0 + LEASE + dt.timedelta(days=1))

        assert outcome.as_dict() == {"retried": [], "failed": [], "results_closed": 0}
        assert snapshot(job) == before
        assert results() == [(TaskResultStatus.RUNNING, "")]

    def test_the_recover_jobs_command_reports_what_it_did(self, user):
        retried, failed = create(user), create(user)
        died_while_running(retried)
        died_while_running(failed, attempts=3)
        output = io.StringIO()

        call_command("recover_jobs", "--format", "json", stdout=output)
        call_command("recover_jobs", stdout=output)

        first, second = output.getvalue().splitlines()
        assert json.loads(first) == {
            "retried": [retried.pk], "failed": [failed.pk], "results_closed": 2,
        }  # fmt: skip
        assert second == "重新排队 0 个任务，标记失败 0 个任务，关闭 0 条任务结果。"

    def test_a_starting_worker_recovers_dead_workers_jobs_and_runs_them(self, user):
        job = create(user)
        died_while_running(job)
        handlers = {number: signal.getsignal(number) for number in
                    (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}  # fmt: skip

        try:
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload",
                         "--queue-name", "*", "--worker-id", "second",
                         stdout=io.StringIO())  # fmt: skip
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)

        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
        assert results() == [(TaskResultStatus.FAILED, LOST), (TaskResultStatus.SUCCESSFUL, "")]
        assert AuditEntry.objects.filter(action="sample.work").count() == 1
