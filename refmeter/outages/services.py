from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.jobs import job_create
from refmeter.common.models import Job, JobStatus
from refmeter.common.text import clean_digits, clean_text
from refmeter.common.validators import FieldProblem
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.outages.models import Notice, NoticePoint, NoticeStatus, Outage, OutageKind
from refmeter.outages.selectors import (
    OUTAGE_NOTIFY,
    AffectedPoint,
    affected_points,
    notice_phone,
    notices_due,
    notify_jobs_active,
    notify_retry_queued,
)
from refmeter.outages.sms import Delivery
from refmeter.registry.models import AccessPoint, TransformerArea


class UnableToPlanOutage(Exception):
    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def outage_create(
    *,
    actor: User,
    unit: SupplyUnit,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    area_numbers: Sequence[str],
    access_point_numbers: Sequence[str],
    now: dt.datetime,
) -> Outage:
    require(user=actor, action=Action.MANAGE_OUTAGES)
    problems = []
    if not unit_is_visible(user=actor, unit=unit):
        problems.append(_("您无权操作其他单位的数据。"))
    if kind not in OutageKind.values:
        problems.append(FieldProblem(_("请选择停电类型。"), field="kind"))
    if ends_at <= starts_at:
        problems.append(FieldProblem(_("停电结束时间必须晚于开始时间。"), field="ends_at"))
    if not clean_text(reason):
        problems.append(FieldProblem(_("请填写停电原因。"), field="reason"))
    area_numbers = [clean_digits(number) for number in area_numbers if clean_digits(number)]
    place_numbers = [
        clean_digits(number) for number in access_point_numbers if clean_digits(number)
    ]
    areas = list(TransformerArea.objects.filter(unit_scope(user=actor), number__in=area_numbers))
    places = list(
        AccessPoint.objects.filter(
            unit_scope(user=actor, unit_field="area__unit"), number__in=place_numbers
        )
    )
    unknown = sorted(set(area_numbers) - {area.number for area in areas}) + sorted(
        set(place_numbers) - {place.number for place in places}
    )
    if unknown:
        problems.append(
            _("这些台区或接入点不存在或不属于您的单位：%(numbers)s")
            % {"numbers": "、".join(unknown)}
        )
    if not areas and not places:
        problems.append(_("请至少选择一个台区或接入点。"))
    if problems:
        raise UnableToPlanOutage(problems)
    with transaction.atomic():
        outage = Outage.objects.create(
            unit=unit, kind=kind, starts_at=starts_at, ends_at=ends_at, reason=clean_text(reason),
            created_by=actor, created_at=now,
        )  # fmt: skip
        outage.areas.set(areas)
        outage.access_points.set(places)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="outage.create", subject_type="outage", subject_id=outage.pk,
                subject_label=outage.reason,
                after={"areas": area_numbers, "access_points": place_numbers,
                       "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
            ),
        )  # fmt: skip
    return outage


MAX_ATTEMPTS = 5
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(minutes=60),
)
# A notice claimed longer ago than this without an answer recorded: its worker died.
STALE_CLAIM = dt.timedelta(minutes=15)
ACCOUNTS_IN_MESSAGE = 3


class UnableToSendNotices(Exception):
    """Notices that could not be sent or resent; the message is fit to show a user."""


def _outage_locked(*, actor: User, outage_id: int) -> Outage:
    """The outage, locked until the end of the transaction, so that two requests for it take
    turns; refused when it is not in the actor's units."""
    outage = (
        Outage.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor), pk=outage_id)
        .first()
    )
    if outage is None:
        raise UnableToSendNotices(_("未找到该停电计划，或它不属于您的单位。"))
    return outage


def outage_send_request(*, actor: User, outage_id: int, now: dt.datetime) -> Job:
    """Ask for the outage's notices to be sent by a background job. Refused while a sending
    job for the outage is queued or running."""
    require(user=actor, action=Action.SEND_OUTAGE_NOTICES)
    with transaction.atomic():
        outage = _outage_locked(actor=actor, outage_id=outage_id)
        active = notify_jobs_active(outage_id=outage.pk, now=now)
        if active:
            raise UnableToSendNotices(
                _("停电通知正在排队或发送中（任务 #%(job)d），请勿重复提交。")
                % {"job": active[0].pk}
            )
        job = job_create(
            kind=OUTAGE_NOTIFY, created_by=actor, parameters={"outage_id": outage.pk}, now=now
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="outage.notify", subject_type="outage", subject_id=outage.pk,
                subject_label=outage.reason, after={"job": job.pk},
            ),
        )  # fmt: skip
    return job


def notice_message(*, outage: Outage, points: Sequence[AffectedPoint]) -> str:
    """The SMS about an outage to one number, naming the points it reaches there."""
    start = timezone.localtime(outage.starts_at)
    end = timezone.localtime(outage.ends_at)
    customers = {point.customer_name for point in points}
    values = {
        "customer": points[0].customer_name if len(customers) == 1 else _("客户"),
        "reason": outage.reason,
        "start": f"{start:%m-%d %H:%M}",
        "end": f"{end:%m-%d %H:%M}",
        "account": points[0].account_number,
        "address": points[0].device_address,
        "accounts": "、".join(point.account_number for point in points[:ACCOUNTS_IN_MESSAGE]),
        "count": len(points),
    }
    if len(points) == 1:
        text = _(
            "【供电公司】尊敬的%(customer)s：因%(reason)s，%(start)s 至 %(end)s 停电，"
            "影响户号 %(account)s（%(address)s）。"
        )
    elif len(points) <= ACCOUNTS_IN_MESSAGE:
        text = _(
            "【供电公司】尊敬的%(customer)s：因%(reason)s，%(start)s 至 %(end)s 停电，"
            "影响户号 %(accounts)s。"
        )
    else:
        text = _(
            "【供电公司】尊敬的%(customer)s：因%(reason)s，%(start)s 至 %(end)s 停电，"
            "影响户号 %(accounts)s 等 %(count)d 个用电点。"
        )
    return (text % values)[:500]


@dataclass(frozen=True)
class NoticePlan:
    notices: int  # notices added now
    points: int  # points affected by the outage
    already: int  # points in a notice before
    uncovered: int  # points whose number already had its notice before they were affected
    no_phone: int  # points whose customer has no number


def notices_plan(*, actor: User, outage_id: int, now: dt.datetime) -> NoticePlan:
    """One pending notice per phone number not yet notified for the outage, covering the
    affected points reached on it. Two plans at once add each notice once: the insert skips
    a number already there, and only the plan that added a notice links points to it."""
    outage = Outage.objects.filter(unit_scope(user=actor), pk=outage_id).first()
    if outage is None:
        raise UnableToSendNotices(_("未找到该停电计划，或它不属于您的单位。"))
    points = affected_points(outage=outage)
    covered = set(NoticePoint.objects.filter(outage=outage).values_list("point_id", flat=True))
    taken = set(
        Notice.objects.filter(outage=outage)
        .exclude(status=NoticeStatus.VOID)
        .values_list("phone", flat=True)
    )
    by_phone: dict[str, list[AffectedPoint]] = {}
    already = uncovered = no_phone = 0
    for point in points:
        phone = notice_phone(point)
        if point.point_id in covered:
            already += 1
        elif not phone:
            no_phone += 1
        elif phone in taken:
            uncovered += 1
        else:
            by_phone.setdefault(phone, []).append(point)
    token = uuid.uuid4().hex
    with transaction.atomic():
        Notice.objects.bulk_create(
            [
                Notice(
                    outage=outage,
                    phone=phone,
                    customer_name=group[0].customer_name[:200],
                    contact_name=group[0].contact_name,
                    message=notice_message(outage=outage, points=group),
                    claim=token,
                    attempt_limit=MAX_ATTEMPTS,
                    created_at=now,
                )
                for phone, group in by_phone.items()
            ],
            batch_size=500,
            ignore_conflicts=True,
        )
        mine = dict(Notice.objects.filter(outage=outage, claim=token).values_list("phone", "pk"))
        NoticePoint.objects.bulk_create(
            [
                NoticePoint(
                    notice_id=notice_id,
                    outage=outage,
                    point_id=point.point_id,
                    account_number=point.account_number,
                )
                for phone, notice_id in mine.items()
                for point in by_phone[phone]
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        Notice.objects.filter(outage=outage, claim=token).update(claim="")
    # a number that another plan added at the same moment is that plan's to link
    already += sum(len(group) for phone, group in by_phone.items() if phone not in mine)
    return NoticePlan(
        notices=len(mine), points=len(points), already=already, uncovered=uncovered,
        no_phone=no_phone,
    )  # fmt: skip


def notices_sweep(*, outage_id: int, now: dt.datetime) -> int:
    """Notices claimed so long ago that their worker must have died between claiming and
    recording: the SMS may or may not have gone, so they become "unknown", never retried
    without a person."""
    return Notice.objects.filter(
        outage_id=outage_id, status=NoticeStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    ).update(
        status=NoticeStatus.UNKNOWN,
        next_attempt_at=None,
        detail=_("发送过程中断，不知道短信是否已发出；请核实后人工重发。"),
    )


@dataclass(frozen=True)
class ClaimedNotice:
    notice_id: int
    phone: str
    message: str
    claim: str


def notices_claim(
    *, outage_id: int, now: dt.datetime, limit: int, backend: str
) -> list[ClaimedNotice]:
    """Claim up to ``limit`` due notices for one worker and commit the claim, before any of
    them goes to the gateway. A notice is claimed by one worker only: rows another worker
    holds are skipped, and the update claims only rows that are still due."""
    claim = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(notices_due(now=now), outage_id=outage_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Notice.objects.filter(notices_due(now=now), pk__in=ids).update(
                status=NoticeStatus.SENDING, claim=claim, claimed_at=now,
                attempts=F("attempts") + 1, backend=backend, next_attempt_at=None,
            )  # fmt: skip
    return [
        ClaimedNotice(notice_id=pk, phone=phone, message=message, claim=claim)
        for pk, phone, message in Notice.objects.filter(claim=claim, status=NoticeStatus.SENDING)
        .order_by("pk")
        .values_list("pk", "phone", "message")
    ]


def notice_delivery_record(
    *, notice_id: int, claim: str, delivery: Delivery, now: dt.datetime
) -> str:
    """Record what the gateway answered for a claimed notice; a failure is retried after a
    back-off (1, 5, 15, 60 minutes) until the notice has had its attempts. Returns the
    notice's new status ("" when the claim was taken over by a resend meanwhile)."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update()
            .filter(
                pk=notice_id,
                claim=claim,
                status__in=[NoticeStatus.SENDING, NoticeStatus.UNKNOWN],
            )
            .first()
        )
        if notice is None:  # resent by hand meanwhile: that claim is no longer this one
            return ""
        notice.detail = delivery.detail[:300]
        notice.next_attempt_at = None
        if delivery.status in (NoticeStatus.SENT, NoticeStatus.RECORDED):
            notice.status = delivery.status
            notice.sent_at = now
        elif delivery.status == NoticeStatus.FAILED:
            notice.status = NoticeStatus.FAILED
            if notice.attempts < notice.attempt_limit:
                tried = notice.attempts - (notice.attempt_limit - MAX_ATTEMPTS)
                notice.next_attempt_at = now + RETRY_DELAYS[min(tried, len(RETRY_DELAYS)) - 1]
        else:
            notice.status = NoticeStatus.UNKNOWN
        notice.save(update_fields=["status", "detail", "next_attempt_at", "sent_at"])
    return str(notice.status)


def outage_retry_request(
    *, actor: User, outage_id: int, now: dt.datetime
) -> tuple[Job, dt.datetime] | None:
    """A sending job queued for the time the earliest retry falls due, unless a queued job
    will run by then. Returns the job and its time, to be enqueued to run after it."""
    with transaction.atomic():
        outage = _outage_locked(actor=actor, outage_id=outage_id)
        due = (
            Notice.objects.filter(outage=outage, status=NoticeStatus.FAILED)
            .exclude(next_attempt_at=None)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is None or notify_retry_queued(outage_id=outage.pk, by=due):
            return None
        job = job_create(
            kind=OUTAGE_NOTIFY,
            created_by=actor,
            parameters={"outage_id": outage.pk, "run_after": due.isoformat()},
            now=now,
        )
    return job, due


@dataclass(frozen=True)
class Resend:
    notices: int
    job: Job | None  # a new job to enqueue; None when a queued one will send them


def notices_resend(
    *, actor: User, outage_id: int, now: dt.datetime, notice_ids: Sequence[int] = ()
) -> Resend:
    """Send failed notices again, by hand: every failed one, or the ones picked, which may
    also be notices whose result is unknown (the person has checked they did not arrive).
    Each gets a fresh round of attempts; who and when are kept on the notice."""
    require(user=actor, action=Action.SEND_OUTAGE_NOTICES)
    with transaction.atomic():
        outage = _outage_locked(actor=actor, outage_id=outage_id)
        notices = Notice.objects.filter(outage=outage)
        if notice_ids:
            notices = notices.filter(
                pk__in=notice_ids, status__in=[NoticeStatus.FAILED, NoticeStatus.UNKNOWN]
            )
        else:
            notices = notices.filter(status=NoticeStatus.FAILED)
        picked = list(notices.order_by("phone").values_list("pk", "phone"))
        if not picked:
            raise UnableToSendNotices(_("没有可重发的通知。"))
        Notice.objects.filter(pk__in=[pk for pk, _phone in picked]).update(
            status=NoticeStatus.PENDING, next_attempt_at=None, claim="", detail="",
            attempt_limit=F("attempts") + MAX_ATTEMPTS, resent_by=actor, resent_at=now,
        )  # fmt: skip
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="outage.notices_resend", subject_type="outage", subject_id=outage.pk,
                subject_label=outage.reason, after={"phones": [phone for _pk, phone in picked]},
            ),
        )  # fmt: skip
        waiting = [
            job
            for job in notify_jobs_active(outage_id=outage.pk, now=now)
            if job.status == JobStatus.QUEUED
        ]
        job = None
        if not waiting:
            job = job_create(
                kind=OUTAGE_NOTIFY, created_by=actor, parameters={"outage_id": outage.pk}, now=now
            )
    return Resend(notices=len(picked), job=job)
