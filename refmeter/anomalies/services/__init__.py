"""Raising and clearing anomaly cases (the scan is in ``scan``); contact sheets from the
data-collection staff to the low-voltage inspectors and back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase, AnomalyKind, CaseStatus, Cause, ContactSheet
from refmeter.anomalies.selectors import case_get
from refmeter.anomalies.services.scan import ScanResult, anomalies_scan
from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_text
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require

__all__ = [
    "ScanResult",
    "UnableToHandleCase",
    "anomalies_scan",
    "anomaly_case_open_by_hand",
    "contact_sheet_answer",
    "contact_sheet_send",
]


# ---------------------------------------------------------------- contact sheets


class UnableToHandleCase(Exception):
    pass


def _sheet_number(now: dt.datetime) -> str:
    prefix = f"LXD{now:%Y%m%d}"
    last = (
        ContactSheet.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return f"{prefix}{int(last[-4:]) + 1 if last else 1:04d}"


def contact_sheet_send(
    *, actor: User, case_id: int, request: str, now: dt.datetime
) -> ContactSheet:
    """Data-collection staff ask the unit's low-voltage inspectors to check on site."""
    require(user=actor, action=Action.SEND_CONTACT_SHEET)
    with transaction.atomic():
        case = case_get(user=actor, case_id=case_id)
        if case.status != CaseStatus.OPEN:
            raise UnableToHandleCase(_("该异常已办结，不能再发联系单。"))
        if ContactSheet.objects.filter(case=case).exists():
            raise UnableToHandleCase(_("该异常已经发过联系单。"))
        sheet = ContactSheet.objects.create(
            case=case,
            number=_sheet_number(now),
            unit=case.group.unit,
            sent_at=now,
            sent_by=actor,
            request=clean_text(request),
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="contact_sheet.send",
                subject_type="anomaly_case",
                subject_id=case.pk,
                subject_label=f"{case.meter_asset_number} {case.get_kind_display()}",
                parent_type="group",
                parent_id=case.group_id,
                after={"sheet": sheet.number},
            ),
        )
    return sheet


def contact_sheet_answer(
    *,
    actor: User,
    case_id: int,
    finding: str,
    note: str,
    found_on: dt.date,
    now: dt.datetime,
) -> AnomalyCase:
    """The inspectors' on-site finding; the case closes with it as its cause."""
    require(user=actor, action=Action.RECORD_FINDING)
    if finding not in Cause.values:
        raise UnableToHandleCase(_("请选择现场核查结论。"))
    if found_on > now.date() + dt.timedelta(days=1):
        raise UnableToHandleCase(_("核查日期不能晚于今天。"))
    with transaction.atomic():
        case = case_get(user=actor, case_id=case_id)
        sheet = ContactSheet.objects.select_for_update().filter(case=case).first()
        if sheet is None:
            raise UnableToHandleCase(_("该异常还没有联系单。"))
        if sheet.answered_at is not None:
            raise UnableToHandleCase(_("联系单已经回复。"))
        sheet.finding = finding
        sheet.finding_note = clean_text(note)
        sheet.found_on = found_on
        sheet.answered_at = now
        sheet.answered_by = actor
        sheet.save()
        case.status = CaseStatus.CLOSED
        case.cause = finding
        case.closed_at = now
        case.closed_by = actor
        case.note = sheet.finding_note
        case.save(update_fields=["status", "cause", "closed_at", "closed_by", "note"])
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="contact_sheet.answer",
                subject_type="anomaly_case",
                subject_id=case.pk,
                subject_label=f"{case.meter_asset_number} {case.get_kind_display()}",
                parent_type="group",
                parent_id=case.group_id,
                after={"finding": finding, "note": sheet.finding_note, "found_on": str(found_on)},
            ),
        )
    return case


def anomaly_case_open_by_hand(
    *,
    actor: User,
    group_id: int,
    kind: str,
    since: dt.date,
    note: str,
    now: dt.datetime,
    account_number: str = "",
    evidence: dict[str, Any] | None = None,
) -> AnomalyCase:
    """A case opened from a field finding (an inspection, an audit) rather than by a rule."""
    require(user=actor, action=Action.OPEN_ANOMALY_CASE)
    from refmeter.organisations.selectors import unit_scope
    from refmeter.registry.models import Group

    group = Group.objects.filter(unit_scope(user=actor), pk=group_id).first()
    if group is None:
        from refmeter.registry.selectors import RecordNotVisible

        raise RecordNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    if kind not in AnomalyKind.values:
        raise UnableToHandleCase(_("未知的异常类型。"))
    with transaction.atomic():
        existing = AnomalyCase.objects.filter(
            meter_asset_number=group.meter_asset_number,
            kind=kind,
            status=CaseStatus.OPEN,
            account_number=account_number,
        ).first()
        if existing:
            return existing
        return AnomalyCase.objects.create(
            group=group,
            meter_asset_number=group.meter_asset_number,
            kind=kind,
            condition_since=since,
            raised_on=now.date(),
            last_seen_on=now.date(),
            account_number=account_number,
            evidence={"source": "manual", "note": clean_text(note), **(evidence or {})},
            note=clean_text(note),
        )
