from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from refmeter.common.models import Job, JobStatus
from refmeter.outages.models import Notice, NoticePoint, NoticeStatus, Outage, OutageKind
from refmeter.outages.sms import sms_phone
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


def notice_rows(*, outage: Outage) -> list[NoticeRow]:
    """Every live notice of an outage with the accounts it covers, by phone number."""
    notices = list(
        Notice.objects.filter(outage=outage)
        .exclude(status=NoticeStatus.VOID)
        .select_related("resent_by")
        .order_by("phone")
    )
    accounts: dict[int, list[str]] = {}
    for notice_id, account in (
        NoticePoint.objects.filter(outage=outage)
        .order_by("account_number")
        .values_list("notice_id", "account_number")
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
            resendable=notice.status in (NoticeStatus.FAILED, NoticeStatus.UNKNOWN),
        )
        for notice in notices
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
