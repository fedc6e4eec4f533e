from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from refmeter.common.models import Job, JobStatus
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.outages.models import (
    Notice,
    NoticePoint,
    NoticeStatus,
    NoticeTemplate,
    Outage,
    OutageKind,
)
from refmeter.outages.sms import sms_phone
from refmeter.outages.texts import (
    DEFAULT_TEMPLATE,
    addresses_text,
    fill,
    moment_text,
    window_text,
)
from refmeter.registry.models import Point, PointPlacement

OUTAGE_NOTIFY = "outage_notify"
DELIVERED = (NoticeStatus.SENT, NoticeStatus.RECORDED)

PLANNED_NOTICE = dt.timedelta(days=7)
TEMPORARY_NOTICE = dt.timedelta(hours=24)


@dataclass(frozen=True)
class AffectedPoint:
    point_id: int
    account_number: str
    name: str
    device_address: str
    area_number: str
    access_point_number: str
    customer_name: str
    contact_name: str
    contact_phone: str
    sms_number: str
    customer_id: int = 0


def affected_points(*, outage: Outage) -> list[AffectedPoint]:
    """Every point active on an outage day and placed, on such a day, in one of its areas or
    on one of its access points."""
    first = timezone.localdate(outage.starts_at)
    last = timezone.localdate(outage.ends_at)
    areas = list(outage.areas.values_list("pk", flat=True))
    places = list(outage.access_points.values_list("pk", flat=True))
    placed = (
        PointPlacement.objects.filter(from_date__lte=last)
        .filter(Q(to_date__isnull=True) | Q(to_date__gt=first))
        .filter(Q(area_id__in=areas) | Q(access_point_id__in=places))
    )
    points = (
        Point.objects.filter(pk__in=placed.values("point_id"), active_from_date__lte=last)
        .filter(Q(active_to_date__isnull=True) | Q(active_to_date__gt=first))
        .select_related("group__customer", "area", "access_point")
        .order_by("account_number")
    )
    return [
        AffectedPoint(
            point_id=point.pk,
            account_number=point.account_number,
            name=point.name,
            device_address=point.device_address,
            area_number=point.area.number if point.area else "",
            access_point_number=point.access_point.number if point.access_point else "",
            customer_name=point.group.customer.name,
            contact_name=point.group.customer.outage_contact_name,
            contact_phone=point.group.customer.outage_contact_phone,
            sms_number=point.group.customer.sms_number,
            customer_id=point.group.customer_id,
        )
        for point in points
    ]


@dataclass(frozen=True)
class TemplateVersion:
    version: int
    text: str
    note: str = ""
    created_by: str = ""
    created_at: dt.datetime | None = None


def _template_version(template: NoticeTemplate) -> TemplateVersion:
    author = template.created_by
    return TemplateVersion(
        version=template.version,
        text=template.text,
        note=template.note,
        created_by=(author.get_full_name() or author.get_username()) if author else "",
        created_at=template.created_at,
    )


# What the notices are made from while no template has been stored (migrate stores it
# as version 1; a database emptied by hand has none until the first notice or edit).
DEFAULT_VERSION = TemplateVersion(version=1, text=DEFAULT_TEMPLATE)


def notice_template_current(*, version: int | None = None) -> TemplateVersion:
    """The template notices are made from now (the latest version), or one given version
    when it exists."""
    templates = NoticeTemplate.objects.select_related("created_by").order_by("-version")
    if version is not None:
        templates = templates.filter(version=version)
    template = templates.first()
    if template is None:
        return DEFAULT_VERSION if version in (None, 1) else notice_template_current()
    return _template_version(template)


def notice_template_versions(*, user: User) -> list[TemplateVersion]:
    """Every version of the template, newest first: for the administrators who edit it."""
    require(user=user, action=Action.EDIT_NOTICE_TEMPLATE)
    versions = [
        _template_version(template)
        for template in NoticeTemplate.objects.select_related("created_by").order_by("-version")
    ]
    return versions or [DEFAULT_VERSION]


def notice_message(*, outage: Outage, points: Sequence[AffectedPoint], template: str) -> str:
    """The SMS about an outage to one number, from the template: the window, the customer,
    the number of its points affected and their first addresses. Always in the site's
    language, so that the preview shown on any page is the text sent."""
    start = timezone.localtime(outage.starts_at)
    end = timezone.localtime(outage.ends_at)
    customers = {point.customer_name for point in points}
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "utility": str(settings.REFMETER_UTILITY_SHORT_NAME),
            "customer": points[0].customer_name if len(customers) == 1 else _("客户"),
            "reason": outage.reason,
            "window": window_text(start, end),
            "start": moment_text(start),
            "end": moment_text(end),
            "count": str(len(points)),
            "addresses": addresses_text([point.device_address or point.name for point in points]),
        }
        return fill(template, values)


@dataclass(frozen=True)
class NoticeDraft:
    """A notice not made yet: the number, whom it reaches and the exact text it will carry."""

    phone: str
    customer_name: str
    contact_name: str
    points: list[AffectedPoint]
    message: str


@dataclass(frozen=True)
class NoticeDrafts:
    drafts: list[NoticeDraft]  # one per number without a notice for the outage yet
    template: TemplateVersion
    points: int  # points affected by the outage
    already: int  # points in a notice before
    uncovered: int  # points whose number already had its notice before they were affected
    no_phone: int  # points whose customer has no number

    @property
    def digest(self) -> str:
        """A fingerprint of the texts and numbers shown, for the confirmation to name."""
        content = "\n".join(
            [str(self.template.version), *(f"{d.phone}\t{d.message}" for d in self.drafts)]
        )
        return hashlib.sha256(content.encode()).hexdigest()[:32]


def notice_drafts(
    *,
    outage: Outage,
    template: TemplateVersion,
    points: Sequence[AffectedPoint] | None = None,
) -> NoticeDrafts:
    """The notices that sending would make now: one per phone number not yet notified for
    the outage, covering the affected points reached on it, with its text. The outage page
    shows them before sending, and the sending job makes exactly these."""
    points = affected_points(outage=outage) if points is None else points
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
    return NoticeDrafts(
        drafts=[
            NoticeDraft(
                phone=phone,
                customer_name=group[0].customer_name,
                contact_name=group[0].contact_name,
                points=group,
                message=notice_message(outage=outage, points=group, template=template.text),
            )
            for phone, group in sorted(by_phone.items())
        ],
        template=template,
        points=len(points),
        already=already,
        uncovered=uncovered,
        no_phone=no_phone,
    )


RESENDABLE = (NoticeStatus.FAILED, NoticeStatus.UNKNOWN)


def notices_to_resend(*, outage: Outage, notice_ids: Sequence[int] = ()) -> QuerySet[Notice]:
    """What a resend sends again: every failed notice of the outage, or the ones picked
    that failed or whose result is unknown; never one that was delivered."""
    notices = Notice.objects.filter(outage=outage)
    if notice_ids:
        return notices.filter(pk__in=notice_ids, status__in=RESENDABLE)
    return notices.filter(status=NoticeStatus.FAILED)


def notice_shortfall(*, outage: Outage, now: dt.datetime) -> dt.timedelta | None:
    """How much less notice than the rules require (7 days planned, 24 hours temporary)."""
    required = PLANNED_NOTICE if outage.kind == OutageKind.PLANNED else TEMPORARY_NOTICE
    given = outage.starts_at - now
    return required - given if given < required else None


def notices_due(*, now: dt.datetime) -> Q:
    """Notices to hand to the gateway now: new ones, and failed ones whose retry is due."""
    return Q(status=NoticeStatus.PENDING) | Q(status=NoticeStatus.FAILED, next_attempt_at__lte=now)


def notices_due_count(*, outage_id: int, now: dt.datetime) -> int:
    return Notice.objects.filter(notices_due(now=now), outage_id=outage_id).count()


def notice_phone(point: AffectedPoint) -> str:
    """The number a point's notice goes to: its customer's SMS number, else the customer's
    outage contact phone; "" when the customer has neither."""
    return sms_phone(point.sms_number) or sms_phone(point.contact_phone)


def notify_jobs_active(*, outage_id: int, now: dt.datetime) -> list[Job]:
    """Sending jobs of an outage that are running, or queued to run now (not a retry that
    waits for its time)."""
    jobs = Job.objects.filter(
        kind=OUTAGE_NOTIFY,
        parameters__outage_id=outage_id,
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
    ).order_by("pk")
    return [job for job in jobs if not _waiting(job, now)]


def notify_retry_queued(*, outage_id: int, by: dt.datetime) -> bool:
    """Whether a queued sending job of the outage will run at or before ``by``."""
    jobs = Job.objects.filter(
        kind=OUTAGE_NOTIFY, parameters__outage_id=outage_id, status=JobStatus.QUEUED
    )
    return any(
        dt.datetime.fromisoformat(job.parameters.get("run_after") or by.isoformat()) <= by
        for job in jobs
    )


@dataclass(frozen=True)
class NoticeRow:
    notice_id: int
    phone: str
    customer_name: str
    accounts: list[str]
    status: str
    status_label: str
    attempts: int
    detail: str
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    resent_by: str
    resent_at: dt.datetime | None
    resendable: bool
    message: str = ""
    template_version: int | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class SendProgress:
    job_id: int | None
    job_status: str
    job_status_label: str
    job_message: str
    done: int
    total: int
    percent: int
    active: bool
    counts: list[tuple[str, int]]
    points_covered: int
    retry_at: dt.datetime | None


def notice_rows(*, outage: Outage, notices: QuerySet[Notice] | None = None) -> list[NoticeRow]:
    """Every live notice of an outage (or those of ``notices``) with the text it carries and
    the accounts it covers, by phone number, in three queries."""
    chosen = Notice.objects.filter(outage=outage) if notices is None else notices
    notices_shown = list(
        chosen.exclude(status=NoticeStatus.VOID)
        .select_related("resent_by", "template")
        .order_by("phone")
    )
    links = NoticePoint.objects.filter(outage=outage)
    if notices is not None:
        links = links.filter(notice_id__in=[notice.pk for notice in notices_shown])
    accounts: dict[int, list[str]] = {}
    for notice_id, account in links.order_by("account_number").values_list(
        "notice_id", "account_number"
    ):
        accounts.setdefault(notice_id, []).append(account)
    labels = dict(NoticeStatus.choices)
    return [
        NoticeRow(
            notice_id=notice.pk,
            phone=notice.phone,
            customer_name=notice.customer_name,
            accounts=accounts.get(notice.pk, []),
            status=notice.status,
            status_label=str(labels[notice.status]),
            attempts=notice.attempts,
            detail=notice.detail,
            sent_at=notice.sent_at,
            next_attempt_at=notice.next_attempt_at,
            resent_by=(
                (notice.resent_by.get_full_name() or notice.resent_by.get_username())
                if notice.resent_by
                else ""
            ),
            resent_at=notice.resent_at,
            resendable=notice.status in RESENDABLE,
            message=notice.message,
            template_version=notice.template.version if notice.template else None,
            created_at=notice.created_at,
        )
        for notice in notices_shown
    ]


def point_notice_statuses(*, outage: Outage) -> dict[int, str]:
    """Each covered point's notice status label, by point id."""
    labels = dict(NoticeStatus.choices)
    return {
        point_id: str(labels[status])
        for point_id, status in NoticePoint.objects.filter(outage=outage).values_list(
            "point_id", "notice__status"
        )
    }


def notified_point_count(*, outage: Outage) -> int:
    """Affected points whose notice reached the gateway or the outbox."""
    return NoticePoint.objects.filter(outage=outage, notice__status__in=DELIVERED).count()


def _waiting(job: Job, now: dt.datetime) -> bool:
    run_after = job.parameters.get("run_after")
    return bool(
        job.status == JobStatus.QUEUED and run_after and dt.datetime.fromisoformat(run_after) > now
    )


def send_progress(*, outage: Outage, now: dt.datetime) -> SendProgress:
    """The latest sending job of an outage (not a retry waiting for its time) and where its
    notices stand."""
    jobs = Job.objects.filter(kind=OUTAGE_NOTIFY, parameters__outage_id=outage.pk).order_by(
        "-created_at", "-pk"
    )[:10]
    job = next((job for job in jobs if not _waiting(job, now)), None)
    labels = dict(NoticeStatus.choices)
    by_status = dict(
        Notice.objects.filter(outage=outage)
        .exclude(status=NoticeStatus.VOID)
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    retry_at = (
        Notice.objects.filter(outage=outage, status=NoticeStatus.FAILED)
        .exclude(next_attempt_at=None)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    active = job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    return SendProgress(
        job_id=job.pk if job else None,
        job_status=job.status if job else "",
        job_status_label=job.get_status_display() if job else "",
        job_message=job.message if job else "",
        done=job.progress_done if job else 0,
        total=job.progress_total if job else 0,
        percent=job.percent if job else 0,
        active=active,
        counts=[
            (str(labels[status]), by_status[status])
            for status in NoticeStatus.values
            if by_status.get(status)
        ],
        points_covered=NoticePoint.objects.filter(outage=outage).count(),
        retry_at=retry_at,
    )


def outages_visible(*, user: User) -> QuerySet[Outage]:
    """The outages of the user's units, the latest first: the list page and its export."""
    return Outage.objects.filter(unit_scope(user=user)).order_by("-starts_at", "-pk")


@dataclass(frozen=True)
class OutageRow:
    outage_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    kind_label: str
    reason: str
    unit_name: str
    areas: int
    access_points: int
    notices: int
    delivered: int
    created_by: str
    created_at: dt.datetime


def outage_rows(*, outages: QuerySet[Outage]) -> list[OutageRow]:
    """The outages with their counts, in one query whatever their number."""

    def count(model: Any, **where: Any) -> Coalesce:
        counted = (
            model.objects.filter(outage_id=OuterRef("pk"), **where)
            .order_by()
            .values("outage_id")
            .annotate(n=Count("*"))
            .values("n")
        )
        return Coalesce(Subquery(counted), 0)

    annotated = outages.select_related("unit", "created_by").annotate(
        area_count=count(Outage.areas.through),
        place_count=count(Outage.access_points.through),
        notice_count=count(Notice, status__in=[s for s in NoticeStatus if s != "void"]),
        delivered_count=count(Notice, status__in=DELIVERED),
    )
    return [
        OutageRow(
            outage_id=outage.pk,
            starts_at=outage.starts_at,
            ends_at=outage.ends_at,
            kind_label=outage.get_kind_display(),
            reason=outage.reason,
            unit_name=outage.unit.name,
            areas=outage.area_count,
            access_points=outage.place_count,
            notices=outage.notice_count,
            delivered=outage.delivered_count,
            created_by=outage.created_by.get_full_name() or outage.created_by.get_username(),
            created_at=outage.created_at,
        )
        for outage in annotated
    ]
