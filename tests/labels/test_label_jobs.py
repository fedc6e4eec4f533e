"""Label printing as a job: a reprint voids the old labels only together with the new PDF,
and a job run twice, or retried after its worker was killed, issues and voids once."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from refmeter.audit.models import AuditEntry
from refmeter.common.jobs import job_create, jobs_recover
from refmeter.common.models import Job, JobStatus
from refmeter.labels import tasks
from refmeter.labels.layouts import layout_get
from refmeter.labels.models import Label
from refmeter.labels.selectors import targets_for_group
from refmeter.labels.services import labels_issue
from refmeter.labels.tasks import LABEL_PRINT, label_print_task
from refmeter.labels.tokens import token_read
from tests import factories
from tests.labels.test_labels import decode_pdf

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2
LOST = "refmeter.common.jobs.WorkerLost"
NOT_CURRENT = "refmeter.common.jobs.JobNotCurrent"


@pytest.fixture
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


@pytest.fixture
def group(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=5
    )


@pytest.fixture
def old_labels(city, group):
    """The group's labels printed once before: a job reprints them."""
    labels_issue(
        actor=city.south_admin,
        targets=targets_for_group(user=city.south_admin, group_id=group.pk),
        batch="first",
        now=NOW,
    )
    return list(Label.objects.order_by("serial").values_list("serial", flat=True))


def print_job(city, group) -> Job:
    job = job_create(
        kind=LABEL_PRINT,
        created_by=city.south_clerk,
        parameters={"source": "group", "ids": [group.pk], "layout": "a4-3x8",
                    "batch": f"group:{group.pk}", "file_name": "6 张标签"},
        now=NOW,
    )  # fmt: skip
    label_print_task.enqueue(job.pk)
    return job


def labels_state() -> list[tuple]:
    return list(
        Label.objects.order_by("serial").values_list("serial", "account_number", "voided_at")
    )


def stored_files(storage: Path) -> list[str]:
    return sorted(str(path.relative_to(storage)) for path in storage.rglob("*") if path.is_file())


def results() -> list[tuple[str, str]]:
    return sorted((row.status, row.exception_class_path) for row in DBTaskResult.objects.all())


def assert_reprinted_once(job: Job, old_serials: list[int], storage: Path) -> list[Label]:
    """Exactly one new label per point, in the job's PDF; every old label voided once."""
    old = list(Label.objects.filter(serial__in=old_serials))
    new = list(Label.objects.exclude(serial__in=old_serials).order_by("serial"))
    assert len(new) == len(old_serials) == 6
    assert {label.voided_at for label in new} == {None}
    assert {label.batch for label in new} == {job.parameters["batch"]}
    assert len({label.voided_at for label in old}) == 1 and old[0].voided_at is not None
    assert {label.void_reason for label in old} == {"重印"}
    issues = AuditEntry.objects.filter(action="labels.issue").order_by("pk")
    assert [entry.after["voided"] for entry in issues] == [0, 6]
    assert (job.status, job.result["labels"]) == (JobStatus.SUCCEEDED, 6)
    assert stored_files(storage) == [job.result["file"]]
    decoded = decode_pdf((storage / job.result["file"]).read_bytes(), layout_get("a4-3x8"))
    assert sorted(token_read(url).serial for url in decoded) == [label.serial for label in new]
    return new


@pytest.mark.django_db(transaction=True)
class TestAReprintJob:
    def test_voids_the_old_labels_in_the_transaction_that_stores_the_new_pdf(
        self, city, group, old_labels, storage
    ):
        job = print_job(city, group)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert_reprinted_once(job, old_labels, storage)
        assert job.result["file"] == f"labels/2026/11/labels-job{job.pk}-1.pdf"
        assert (job.attempts, job.message) == (1, "已生成 6 张标签")

    def test_whose_drawing_fails_voids_and_issues_nothing(
        self, city, group, old_labels, storage, monkeypatch
    ):
        def broken_pdf(labels, **options):
            next(iter(labels))
            raise MemoryError("the PDF could not be drawn")

        monkeypatch.setattr(tasks, "labels_pdf", broken_pdf)
        before = labels_state()
        job = print_job(city, group)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert labels_state() == before
        assert AuditEntry.objects.filter(action="labels.issue").count() == 1
        assert stored_files(storage) == []
        message = "后台任务意外出错（MemoryError），未能完成。请联系系统管理员。"
        assert (job.status, job.errors) == (JobStatus.FAILED, [message])

    def test_delivered_twice_issues_and_voids_once(self, city, group, old_labels, storage):
        job = print_job(city, group)
        label_print_task.enqueue(job.pk)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert_reprinted_once(job, old_labels, storage)
        assert results() == [(TaskResultStatus.FAILED, NOT_CURRENT),
                             (TaskResultStatus.SUCCESSFUL, "")]  # fmt: skip

    def test_whose_attempt_lost_its_lease_keeps_nothing_and_the_retry_issues_once(
        self, city, group, old_labels, storage, monkeypatch
    ):
        real_pdf = tasks.labels_pdf
        lost = []

        def lease_lost_while_drawing(labels, **options):
            if not lost:  # the first attempt stalls; recovery hands the job to a retry
                lost.append(jobs_recover(now=timezone.now() + dt.timedelta(hours=1)))
            return real_pdf(labels, **options)

        monkeypatch.setattr(tasks, "labels_pdf", lease_lost_while_drawing)
        job = print_job(city, group)

        factories.run_queued_tasks()

        job.refresh_from_db()
        assert lost[0].retried == [job.pk]
        new = assert_reprinted_once(job, old_labels, storage)
        assert job.attempts == 2 and job.result["file"].endswith(f"job{job.pk}-2.pdf")
        assert results() == [(TaskResultStatus.FAILED, NOT_CURRENT),
                             (TaskResultStatus.SUCCESSFUL, "")]  # fmt: skip
        # The stalled attempt's serials were reserved and never issued: a gap, no labels.
        assert new[0].serial == old_labels[-1] + 7


@pytest.mark.django_db(transaction=True)
class TestTheLabelsCommand:
    def test_issues_and_voids_nothing_when_the_pdf_cannot_be_written(
        self, city, group, old_labels, tmp_path
    ):
        base = group.points.get(kind="base").account_number
        before = labels_state()

        with pytest.raises(CommandError) as refusal:
            call_command("labels", "--group", base, "--out", str(tmp_path / "no" / "x.pdf"),
                         stdout=io.StringIO())  # fmt: skip

        assert str(refusal.value).startswith("无法写入")
        assert labels_state() == before
        assert AuditEntry.objects.filter(action="labels.issue").count() == 1


class SharedDatabase:
    """The test database as worker processes see it. PostgreSQL: the test database itself.
    SQLite: the in-memory test database copied to a file for the workers, and copied
    back to be looked at."""

    def __init__(self, folder: Path) -> None:
        values = connection.settings_dict
        if connection.vendor == "sqlite":
            self.file: Path | None = folder / "workers.sqlite3"
            self.url = f"sqlite:///{self.file}"
        else:
            self.file = None
            password = f":{quote(values['PASSWORD'])}" if values.get("PASSWORD") else ""
            self.url = (
                f"postgres://{quote(values['USER'])}{password}@{values['HOST'] or 'localhost'}"
                f":{values['PORT'] or 5432}/{values['NAME']}"
            )

    def share(self) -> None:
        if self.file is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.file)
            connection.connection.backup(target)
            target.close()

    def look(self) -> None:
        if self.file is not None:
            source = sqlite3.connect(self.file)
            source.backup(connection.connection)
            source.close()


def start_worker(folder: Path, database: SharedDatabase, name: str, *, delay: float, batch: bool):
    settings_module = folder / "worker_settings.py"
    settings_module.write_text(
        "from refmeter.settings import *  # noqa: F403\n"
        f"REFMETER_JOB_LEASE_SECONDS = {LEASE_SECONDS}\n"
        "import os\n"
        "REFMETER_TEST_LABEL_DELAY_SECONDS = float(os.environ['TEST_LABEL_DELAY'])\n"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "worker_settings",
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        "DATABASE_URL": database.url,
        "REFMETER_STORAGE_DIR": str(folder / "files"),
        "TEST_LABEL_DELAY": str(delay),
    }
    command = [sys.executable, "-m", "refmeter.cli", "db_worker", "--queue-name", "*",
               "--interval", "0.1", "--no-startup-delay", "--no-reload", "--worker-id", name]  # fmt: skip
    log = (folder / f"{name}.log").open("wb")
    return subprocess.Popen(
        [*command, *(["--batch"] if batch else [])],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
class TestAWorkerKilledMidJob:
    def test_leaves_nothing_voided_and_the_retry_issues_and_voids_once(
        self, client, city, group, old_labels, settings, tmp_path
    ):
        settings.MEDIA_ROOT = storage = tmp_path / "files"
        client.force_login(city.south_clerk)
        response = client.post(
            reverse("labels:print"),
            {"source": "group", "id": group.pk, "layout": "a4-3x8", "confirm_void": "on"},
        )
        job = Job.objects.get()
        before = labels_state()
        database = SharedDatabase(tmp_path)
        database.share()

        first = start_worker(tmp_path, database, "first", delay=0.5, batch=False)
        try:
            deadline = time.monotonic() + 60
            while True:  # until the first labels are drawn
                time.sleep(0.05)
                database.look()
                job.refresh_from_db()
                if job.progress_done >= 1:
                    break
                assert first.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "the worker never reported progress"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        database.look()
        job.refresh_from_db()

        assert first.returncode == -signal.SIGKILL
        assert labels_state() == before  # nothing voided, nothing issued
        assert stored_files(storage) == []
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
        assert results() == [(TaskResultStatus.RUNNING, "")]

        time.sleep(LEASE_SECONDS + 0.2)  # the lease runs out: the killed worker is gone
        second = start_worker(tmp_path, database, "second", delay=0, batch=True)
        try:
            second.wait(timeout=120)
        finally:
            if second.poll() is None:
                second.kill()
        database.look()
        job.refresh_from_db()
        page = client.get(response["Location"]).content.decode()

        assert second.returncode == 0, (tmp_path / "second.log").read_text()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
        assert_reprinted_once(job, old_labels, storage)
        assert results() == [(TaskResultStatus.FAILED, LOST), (TaskResultStatus.SUCCESSFUL, "")]
        assert "已生成 6 张标签" in page
