"""Sending outage notices as a background job: plan one notice per phone number, then claim
and send them in batches, reporting progress; failures are retried by a follow-up job."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task

from refmeter.common.jobs import JobRun, job_run, job_task
from refmeter.common.models import Job
from refmeter.organisations.models import User
from refmeter.outages.selectors import OUTAGE_NOTIFY, notices_due_count
from refmeter.outages.services import (
    NoticePlan,
    Resend,
    UnableToSendNotices,
    notice_delivery_record,
    notices_claim,
    notices_plan,
    notices_resend,
    notices_sweep,
    outage_retry_request,
    outage_send_request,
)
from refmeter.outages.sms import gateway

__all__ = ["OUTAGE_NOTIFY", "SEND_BATCH", "outage_notify_task", "outage_send_start"]

SEND_BATCH = 20


def outage_send_start(
    *, actor: User, outage_id: int, now: dt.datetime, confirmed: bool, preview: str = ""
) -> Job:
    """Queue the job that sends an outage's notices: the job record and its task are written
    in one transaction, so neither exists without the other."""
    with transaction.atomic():
        job = outage_send_request(
            actor=actor, outage_id=outage_id, now=now, confirmed=confirmed, preview=preview
        )
        outage_notify_task.enqueue(job.pk)
    return job


def notices_resend_start(
    *,
    actor: User,
    outage_id: int,
    now: dt.datetime,
    confirmed: bool,
    notice_ids: Sequence[int] = (),
) -> Resend:
    with transaction.atomic():
        resend = notices_resend(
            actor=actor, outage_id=outage_id, now=now, confirmed=confirmed, notice_ids=notice_ids
        )
        if resend.job is not None:
            outage_notify_task.enqueue(resend.job.pk)
    return resend


def _send(*, run: JobRun, outage_id: int, total: int, counts: Counter[str]) -> None:
    sender = gateway()
    done = 0
    run.progress(done=done, total=total, message=_("发送短信"))
    while claimed := notices_claim(
        outage_id=outage_id, now=timezone.now(), limit=SEND_BATCH, backend=sender.name
    ):
        for notice in claimed:
            delivery = sender.send(
                phone=notice.phone,
                message=notice.message,
                reference=f"outage-{outage_id}-notice-{notice.notice_id}",
            )
            status = notice_delivery_record(
                notice_id=notice.notice_id, claim=notice.claim, delivery=delivery,
                now=timezone.now(),
            )  # fmt: skip
            counts[status] += 1
        done += len(claimed)
        total = max(total, done)
        run.progress(done=done, total=total, message=_("发送短信"))


def _retry_later(*, user: User, outage_id: int) -> None:
    """Queue a follow-up job for when the earliest failed notice is due again."""
    try:
        with transaction.atomic():
            retry = outage_retry_request(actor=user, outage_id=outage_id, now=timezone.now())
            if retry is not None:
                retry_job, run_after = retry
                outage_notify_task.using(run_after=run_after).enqueue(retry_job.pk)
    except UnableToSendNotices:
        pass  # the user who asked can no longer see the outage: failures wait for a person


@job_task
@task(takes_context=True)
def outage_notify_task(context: TaskContext, job_id: int) -> None:
    with job_run(
        job_id=job_id,
        task_result_id=str(context.task_result.id),
        clock=timezone.now,
        message=_("准备通知清单"),
    ) as run:
        _notify(run)


def _notify(run: JobRun) -> None:
    """Send what is due. A job asked for by pressing send first makes the outage's notices
    (from the template version the sender saw); a retry or a resend only sends notices
    already made, so no text goes out that nobody confirmed."""
    user = run.user
    parameters = run.job.parameters
    outage_id = int(parameters["outage_id"])
    makes_notices = not (parameters.get("run_after") or parameters.get("resend"))
    version = parameters.get("template_version")
    try:
        swept = notices_sweep(outage_id=outage_id, now=timezone.now())
        plan = (
            notices_plan(
                actor=user,
                outage_id=outage_id,
                now=timezone.now(),
                template_version=int(version) if version else None,
            )
            if makes_notices
            else NoticePlan(notices=0, points=0, already=0, uncovered=0, no_phone=0)
        )
    except UnableToSendNotices as refusal:
        run.fail(now=timezone.now(), errors=[str(refusal)], message=str(refusal))
        return
    counts: Counter[str] = Counter({"unknown": swept})
    # Claimed notices of an attempt that dies stay "sending" and are found out by the next
    # attempt (recovery retries the job once its lease runs out).
    _send(
        run=run,
        outage_id=outage_id,
        total=notices_due_count(outage_id=outage_id, now=timezone.now()),
        counts=counts,
    )
    _retry_later(user=user, outage_id=outage_id)
    result = {
        "outage_id": outage_id,
        "notices": plan.notices,
        "points": plan.points,
        "sent": counts["sent"],
        "recorded": counts["recorded"],
        "failed": counts["failed"],
        "unknown": counts["unknown"],
        "no_phone": plan.no_phone,
        "already": plan.already,
        "uncovered": plan.uncovered,
    }
    run.finish(
        now=timezone.now(),
        result=result,
        message=_(
            "通知：发送 %(sent)d 条，记录 %(recorded)d 条，失败 %(failed)d 条，结果未知 %(unknown)d 条；"
            "无短信号码的用电点 %(no_phone)d 个。"
        )
        % result,
    )
