from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_text
from refmeter.inspections.models import Finding, InspectionResult
from refmeter.organisations.models import Role, User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Point
from refmeter.registry.selectors import RecordNotVisible

INSPECTING_ROLES = {Role.FIELD_STAFF, Role.ADMINISTRATOR}


class UnableToRecordInspection(Exception):
    pass


def may_inspect(*, user: User) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or (user.unit_id and user.role in INSPECTING_ROLES))
    )


def inspection_result_record(
    *,
    actor: User,
    point_id: int,
    finding: str,
    note: str,
    now: dt.datetime,
    label_serial: int | None = None,
) -> InspectionResult:
    if not may_inspect(user=actor):
        raise ActionNotAllowed(_("只有装接/用电检查人员可以记录检查结果。"))
    if finding not in Finding.values:
        raise UnableToRecordInspection(_("请选择检查结果。"))
    if finding == Finding.OTHER and not clean_text(note):
        raise UnableToRecordInspection(_("选择“其他情况”时请填写说明。"))
    with transaction.atomic():
        point = (
            Point.objects.filter(unit_scope(user=actor, unit_field="group__unit"), pk=point_id)
            .select_related("group")
            .first()
        )
        if point is None:
            raise RecordNotVisible(_("未找到该用电点，或它不属于您所在单位及下属单位。"))
        result = InspectionResult.objects.create(
            point=point,
            finding=finding,
            note=clean_text(note),
            label_serial=label_serial,
            recorded_by=actor,
            recorded_at=now,
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=_("扫码现场检查"),
            change=AuditChange(
                action="inspection.record",
                subject_type="point",
                subject_id=point.pk,
                subject_label=f"{point.account_number} {point.name}",
                parent_type="group",
                parent_id=point.group_id,
                after={"finding": finding, "note": result.note},
            ),
        )
    return result
