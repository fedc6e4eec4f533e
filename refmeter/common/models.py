from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Versioned(models.Model):
    """A record people edit at the same time: every saved change raises ``version`` by one,
    so a save based on an older reading can be refused instead of silently overwriting
    (optimistic concurrency, see docs/architecture.md)."""

    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        abstract = True

    def bump_version(self) -> bool:
        """Raise the stored version by one if it is still the one this instance holds.

        False means someone else saved the row since it was read (the caller refuses);
        on a row locked with ``select_for_update`` that cannot happen."""
        updated = (
            type(self)
            ._default_manager.filter(pk=self.pk, version=self.version)
            .update(version=models.F("version") + 1)
        )
        if updated:
            self.version += 1
        return bool(updated)


class CalendarYear(models.Model):
    """A year whose public holidays and make-up working days an administrator has entered.

    For such a year, a day not listed in :class:`CalendarDay` follows the weekday
    rule (Monday to Friday work). Years the holiday library knows need no row.
    """

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    note = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("节假日年度")
        verbose_name_plural = _("节假日年度")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A public holiday or a make-up working day that overrides the library and the weekday rule."""

    day = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'工作日' if self.is_working_day else '休息日'} {self.note}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class Job(models.Model):
    """A long piece of work run by a task worker, with the progress people watch.

    A running job holds a lease: its worker renews ``heartbeat_at`` while it works, and a
    job whose heartbeat is older than the lease (its worker died) is retried or failed by
    the recovery in ``refmeter.common.jobs``. ``attempts`` counts the workers that took
    it; only the latest attempt may report progress or finish it."""

    kind = models.CharField(_("类型"), max_length=64)
    status = models.CharField(
        _("状态"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("提交时间"))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.CharField(_("进度说明"), max_length=300, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    # The django-tasks result currently running (or queued to run) the job.
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, int(self.progress_done * 100 / self.progress_total))


class WorkerBeat(models.Model):
    """The last time a task worker process was seen alive, for monitoring (``/healthz``)."""

    name = models.CharField(max_length=200, unique=True)  # host:pid
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("任务进程")
        verbose_name_plural = _("任务进程")

    def __str__(self) -> str:
        return f"{self.name} {self.seen_at:%Y-%m-%d %H:%M}"
