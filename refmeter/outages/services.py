from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.jobs import job_create
from refmeter.common.models import Job, JobStatus
from refmeter.common.text import clean_digits, clean_text
from refmeter.common.validators import FieldProblem
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.outages.models import (
    Notice,
    NoticePoint,
    NoticeStatus,
    NoticeTemplate,
    Outage,
    OutageKind,
)
from refmeter.outages.selectors import (
    OUTAGE_NOTIFY,
    TemplateVersion,
    notice_drafts,
    notice_template_current,
    notices_due,
    notices_to_resend,
    notify_jobs_active,
    notify_retry_queued,
)
from refmeter.outages.sms import Delivery
from refmeter.outages.texts import DEFAULT_TEMPLATE, template_problems
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


NOT_CONFIRMED = gettext_lazy(
    "短信发出后不能撤回：请先核对将要发送的短信内容，勾选“我已核对，确认发送”后再提交。"
)
RESEND_NOT_CONFIRMED = gettext_lazy(
    "重发的短信不能撤回：请先核对将要重发的通知，勾选“我已核对，确认重发”后再提交。"
)


def _stored_template(version: int | None, *, now: dt.datetime) -> NoticeTemplate:
    """The stored template version ``version`` (the latest when None or not stored), storing
    the default as version 1 when none is stored yet."""
    templates = NoticeTemplate.objects.order_by("-version")
    chosen = templates.filter(version=version).first() if version is not None else None
    chosen = chosen or templates.first()
    if chosen is None:
        chosen, _created = NoticeTemplate.objects.get_or_create(
            version=1, defaults={"text": DEFAULT_TEMPLATE, "created_at": now}
        )
    return chosen


def outage_send_request(
    *, actor: User, outage_id: int, now: dt.datetime, confirmed: bool, preview: str = ""
) -> Job:
    """Ask for the outage's notices to be sent by a background job, once the sender has
    seen and confirmed them (``confirmed``). ``preview`` is the fingerprint of the notices
    the sender saw (``NoticeDrafts.digest``): when the texts or the numbers have changed
    since, nothing is sent and the sender is asked to look again. The job makes the notices
    from the template version the sender saw. Refused while a sending job for the outage
    is queued or running."""
    require(user=actor, action=Action.SEND_OUTAGE_NOTICES)
    with transaction.atomic():
        outage = _outage_locked(actor=actor, outage_id=outage_id)
        if not confirmed:
            raise UnableToSendNotices(str(NOT_CONFIRMED))
        active = notify_jobs_active(outage_id=outage.pk, now=now)
        if active:
            raise UnableToSendNotices(
                _("停电通知正在排队或发送中（任务 #%(job)d），请勿重复提交。")
                % {"job": active[0].pk}
            )
        template = notice_template_current()
        if preview and notice_drafts(outage=outage, template=template).digest != preview:
            raise UnableToSendNotices(
                _(
                    "自您打开页面以来，通知模板或受影响的用电点已有变化，短信内容不再是您核对的内容；"
                    "请重新核对下方预览后再发送。"
                )
            )
        job = job_create(
            kind=OUTAGE_NOTIFY,
            created_by=actor,
            parameters={"outage_id": outage.pk, "template_version": template.version},
            now=now,
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="outage.notify", subject_type="outage", subject_id=outage.pk,
                subject_label=outage.reason,
                after={"job": job.pk, "template_version": template.version},
            ),
        )  # fmt: skip
    return job


@dataclass(frozen=True)
class NoticePlan:
    notices: int  # notices added now
    points: int  # points affected by the outage
    already: int  # points in a notice before
    uncovered: int  # points whose number already had its notice before they were affected
    no_phone: int  # points whose customer has no number


def notices_plan(
    *, actor: User, outage_id: int, now: dt.datetime, template_version: int | None = None
) -> NoticePlan:
    """One pending notice per phone number not yet notified for the outage, covering the
    affected points reached on it, with the text the outage page showed for it (the drafts
    of ``template_version``, the latest when None); each notice names its template version.
    Two plans at once add each notice once: the insert skips a number already there, and
    only the plan that added a notice links points to it."""
    outage = Outage.objects.filter(unit_scope(user=actor), pk=outage_id).first()
    if outage is None:
        raise UnableToSendNotices(_("未找到该停电计划，或它不属于您的单位。"))
    template = _stored_template(template_version, now=now)
    planned = notice_drafts(
        outage=outage, template=TemplateVersion(version=template.version, text=template.text)
    )
    drafts = {draft.phone: draft for draft in planned.drafts}
    token = uuid.uuid4().hex
    with transaction.atomic():
        Notice.objects.bulk_create(
            [
                Notice(
                    outage=outage,
                    phone=draft.phone,
                    customer_name=draft.customer_name[:200],
                    contact_name=draft.contact_name,
                    message=draft.message,
                    template=template,
                    claim=token,
                    attempt_limit=MAX_ATTEMPTS,
                    created_at=now,
                )
                for draft in planned.drafts
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
                for point in drafts[phone].points
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        Notice.objects.filter(outage=outage, claim=token).update(claim="")
    # a number that another plan added at the same moment is that plan's to link
    already = planned.already + sum(
        len(draft.points) for phone, draft in drafts.items() if phone not in mine
    )
    return NoticePlan(
        notices=len(mine), points=planned.points, already=already, uncovered=planned.uncovered,
        no_phone=planned.no_phone,
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
    *,
    actor: User,
    outage_id: int,
    now: dt.datetime,
    confirmed: bool,
    notice_ids: Sequence[int] = (),
) -> Resend:
    """Send failed notices again, by hand, once the sender has confirmed it: every failed
    one, or the ones picked, which may also be notices whose result is unknown (the person
    has checked they did not arrive); never a delivered one. Each goes again with the text
    it was made with and gets a fresh round of attempts; who and when are kept on the
    notice. Two resends at once take turns on the outage's lock, so the second finds
    nothing left to resend."""
    require(user=actor, action=Action.SEND_OUTAGE_NOTICES)
    with transaction.atomic():
        outage = _outage_locked(actor=actor, outage_id=outage_id)
        if not confirmed:
            raise UnableToSendNotices(str(RESEND_NOT_CONFIRMED))
        notices = notices_to_resend(outage=outage, notice_ids=notice_ids)
        picked = list(notices.order_by("phone").values_list("pk", "phone"))
        if not picked:
            raise UnableToSendNotices(_("没有可重发的通知。"))
        notices.filter(pk__in=[pk for pk, _phone in picked]).update(
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
                kind=OUTAGE_NOTIFY, created_by=actor,
                parameters={"outage_id": outage.pk, "resend": True}, now=now,
            )  # fmt: skip
    return Resend(notices=len(picked), job=job)


class UnableToEditNoticeTemplate(Exception):
    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def notice_template_update(
    *, actor: User, text: str, note: str, based_on: int, now: dt.datetime
) -> NoticeTemplate:
    """Save an edited SMS template as the next version; the earlier versions are kept, and
    notices already made keep the text and the version they were made with. Refused, with
    nothing saved, when the text has problems (an unknown placeholder among them), when it
    is unchanged, or when someone saved another version since version ``based_on`` was
    opened."""
    require(user=actor, action=Action.EDIT_NOTICE_TEMPLATE)
    text = text.strip()
    problems = [FieldProblem(problem, field="text") for problem in template_problems(text)]
    if problems:
        raise UnableToEditNoticeTemplate(problems)
    try:
        with transaction.atomic():
            _stored_template(None, now=now)
            latest = NoticeTemplate.objects.select_for_update().order_by("-version")[0]
            if latest.version != based_on:
                raise UnableToEditNoticeTemplate(
                    _("模板已被他人修改为第 %(version)d 版，您的修改未保存；请查看最新版本后再改。")
                    % {"version": latest.version}
                )
            if latest.text == text:
                raise UnableToEditNoticeTemplate(
                    FieldProblem(_("模板内容没有变化，未保存新版本。"), field="text")
                )
            template = NoticeTemplate.objects.create(
                version=latest.version + 1, text=text, note=clean_text(note)[:200],
                created_by=actor, created_at=now,
            )  # fmt: skip
            audit_record(
                actor=actor,
                occurred_at=now,
                change=AuditChange(
                    action="outage.template_update", subject_type="notice_template",
                    subject_id=template.pk, subject_label=f"v{template.version}",
                    before={"version": latest.version, "text": latest.text},
                    after={"version": template.version, "text": text},
                ),
                reason=template.note,
            )  # fmt: skip
    except IntegrityError as clash:  # another edit took the same version number meanwhile
        raise UnableToEditNoticeTemplate(
            _("有人同时保存了模板，您的修改未保存；请查看最新版本后再改。")
        ) from clash
    return template
