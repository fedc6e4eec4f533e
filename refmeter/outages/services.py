from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_digits, clean_text
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.outages.models import Notice, Outage, OutageKind
from refmeter.outages.selectors import affected_points
from refmeter.outages.sms import gateway
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
    problems = []
    if not unit_is_visible(user=actor, unit=unit):
        problems.append(_("您无权操作其他单位的数据。"))
    if kind not in OutageKind.values:
        problems.append(_("请选择停电类型。"))
    if ends_at <= starts_at:
        problems.append(_("停电结束时间必须晚于开始时间。"))
    if not clean_text(reason):
        problems.append(_("请填写停电原因。"))
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


@dataclass(frozen=True)
class NoticeResult:
    recorded: int
    sent: int
    failed: int
    already: int


def outage_notify(*, actor: User, outage_id: int, now: dt.datetime) -> NoticeResult:
    """A notice to every affected point's customer (its SMS number), through the gateway.
    Points already notified for this outage are not notified twice."""
    outage = Outage.objects.filter(unit_scope(user=actor), pk=outage_id).first()
    if outage is None:
        raise UnableToPlanOutage(_("未找到该停电计划，或它不属于您的单位。"))
    sender = gateway()
    done = set(outage.notices.values_list("point_id", flat=True))
    counts = {"recorded": 0, "sent": 0, "failed": 0}
    start = timezone.localtime(outage.starts_at)
    end = timezone.localtime(outage.ends_at)
    for point in affected_points(outage=outage):
        if point.point_id in done:
            continue
        message = _(
            "【供电公司】尊敬的%(customer)s：因%(reason)s，%(start)s 至 %(end)s 停电，"
            "影响户号 %(account)s（%(address)s）。"
        ) % {
            "customer": point.customer_name, "reason": outage.reason,
            "start": f"{start:%m-%d %H:%M}", "end": f"{end:%m-%d %H:%M}",
            "account": point.account_number, "address": point.device_address,
        }  # fmt: skip
        delivery = sender.send(phone=point.sms_number, message=message)
        Notice.objects.create(
            outage=outage, point_id=point.point_id, account_number=point.account_number,
            customer_name=point.customer_name, contact_name=point.contact_name,
            phone=point.sms_number, message=message[:500], backend=sender.name,
            status=delivery.status, detail=delivery.detail[:300], created_at=now,
        )  # fmt: skip
        counts[delivery.status] += 1
    return NoticeResult(counts["recorded"], counts["sent"], counts["failed"], len(done))
