"""Raising and clearing anomaly cases; contact sheets from the data-collection staff to the
low-voltage inspectors and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.anomalies.models import (
    AnomalyCase,
    AnomalyKind,
    CaseStatus,
    Cause,
    ContactSheet,
)
from refmeter.anomalies.selectors import MeterState, Rule, case_get, meter_states, rules
from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_text
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require


@dataclass
class ScanResult:
    as_of: dt.date
    raised: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    still_open: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "raised": self.raised,
            "cleared": self.cleared,
            "raised_total": sum(self.raised.values()),
            "cleared_total": sum(self.cleared.values()),
            "still_open": self.still_open,
        }


def _number(value: Any) -> str | None:
    if value is None:
        return None
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def _evidence(state: MeterState, rule: Rule, since: dt.date, as_of: dt.date) -> dict[str, Any]:
    return {
        "since": since.isoformat(),
        "days": (as_of - since).days + 1,
        "as_of": as_of.isoformat(),
        "forward_total": _number(state.forward_now),
        "figure": _number(state.figure_now),
        "threshold": str(rule.threshold),
        "raise_after_days": rule.raise_after_days,
    }


def anomalies_scan(
    *, as_of: dt.date, now: dt.datetime, progress: Callable[[str], None] = lambda kind: None
) -> ScanResult:
    """Evaluate every enabled rule over every reference meter as of a day."""
    result = ScanResult(as_of=as_of)
    rules_in_force = rules()
    progress("readings")
    all_states = meter_states(rules_in_force=rules_in_force, as_of=as_of)
    for kind, states in all_states.items():
        rule = rules_in_force[kind]
        progress(kind)
        open_cases = {
            case.meter_asset_number: case
            for case in AnomalyCase.objects.filter(kind=kind, status=CaseStatus.OPEN)
        }
        with_sheet = set(
            ContactSheet.objects.filter(case__kind=kind, case__status=CaseStatus.OPEN).values_list(
                "case__meter_asset_number", flat=True
            )
        )
        to_create: list[AnomalyCase] = []
        to_update: list[AnomalyCase] = []
        for state in states:
            case = open_cases.get(state.meter)
            holds_now = state.last_true == as_of
            if holds_now:
                start = state.last_false or state.first_day or as_of
                since = start + dt.timedelta(days=1) if state.last_false else start
                persisted = (as_of - since).days + 1
                if case is not None:
                    case.last_seen_on = as_of
                    to_update.append(case)
                elif persisted >= rule.raise_after_days:
                    to_create.append(
                        AnomalyCase(
                            group_id=state.group_id,
                            meter_asset_number=state.meter,
                            kind=kind,
                            condition_since=since,
                            raised_on=since + dt.timedelta(days=rule.raise_after_days - 1),
                            last_seen_on=as_of,
                            evidence=_evidence(state, rule, since, as_of),
                        )
                    )
            elif case is not None and state.meter not in with_sheet:
                gone_since = (
                    state.last_true + dt.timedelta(days=1)
                    if state.last_true
                    else case.condition_since
                )
                if (as_of - gone_since).days + 1 >= rule.clear_after_days:
                    case.status = CaseStatus.CLEARED
                    case.cleared_on = gone_since + dt.timedelta(days=rule.clear_after_days - 1)
                    case.closed_at = now
                    to_update.append(case)
                    result.cleared[kind] = result.cleared.get(kind, 0) + 1
        with transaction.atomic():
            AnomalyCase.objects.bulk_create(to_create, batch_size=1000)
            AnomalyCase.objects.bulk_update(
                to_update, ["last_seen_on", "status", "cleared_on", "closed_at"], batch_size=1000
            )
        if to_create:
            result.raised[kind] = len(to_create)
    result.still_open = AnomalyCase.objects.filter(status=CaseStatus.OPEN).count()
    return result


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
