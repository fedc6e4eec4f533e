"""Reads of anomaly cases and contact sheets; the detection's SQL is in ``detection``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.anomalies.models import AnomalyCase, ContactSheet
from refmeter.anomalies.selectors import detection
from refmeter.anomalies.selectors.detection import (
    CONDITIONS,
    MINIMUM_AVERAGE_KWH,
    WINDOW_DAYS,
    MeterState,
    Rule,
    rules,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Point, PointKind

__all__ = [
    "CONDITIONS",
    "EVIDENCE_LABELS",
    "EVIDENCE_VALUES",
    "MINIMUM_AVERAGE_KWH",
    "WINDOW_DAYS",
    "CaseRow",
    "MeterState",
    "Rule",
    "case_get",
    "case_rows",
    "case_search",
    "detection",
    "evidence_rows",
    "rules",
    "visible_cases",
]

# ---------------------------------------------------------------- cases and sheets


@dataclass(frozen=True)
class CaseRow:
    case_id: int
    group_id: int
    meter_asset_number: str
    base_account_number: str
    customer_name: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    condition_since: dt.date
    raised_on: dt.date
    age_days: int
    evidence: dict[str, Any]
    evidence_rows: list[tuple[str, Any]]
    sheet_number: str
    sheet_answered: bool
    cause_label: str


# What each key of a case's evidence means, for people; a key not listed shows as 其他.
EVIDENCE_LABELS = {
    "since": _lazy("异常起始日"),
    "days": _lazy("持续天数"),
    "as_of": _lazy("判定日期"),
    "forward_total": _lazy("正向有功总示数（kWh）"),
    "figure": _lazy("判定值"),
    "threshold": _lazy("阈值"),
    "raise_after_days": _lazy("持续多少天后立案"),
    "source": _lazy("来源"),
    "note": _lazy("说明"),
    "unregistered_points": _lazy("未登记点位数"),
    "location": _lazy("位置"),
}
EVIDENCE_VALUES = {("source", "manual"): _lazy("人工登记")}


def evidence_rows(evidence: dict[str, Any]) -> list[tuple[str, Any]]:
    """A case's evidence as (Chinese label, value), in the order it was recorded."""
    return [
        (
            str(EVIDENCE_LABELS.get(key, _lazy("其他"))),
            str(EVIDENCE_VALUES.get((key, str(value)), value)),
        )
        for key, value in evidence.items()
    ]


def visible_cases(*, user: User) -> QuerySet[AnomalyCase]:
    require(user=user, action=Action.VIEW_REGISTRY)
    return AnomalyCase.objects.filter(unit_scope(user=user, unit_field="group__unit"))


CASE_SORTS: dict[str, tuple[str, ...]] = {
    "raised": ("raised_on",),
    "since": ("condition_since",),
    "kind": ("kind", "raised_on"),
    "customer": ("group__customer__name", "raised_on"),
    "meter": ("meter_asset_number", "raised_on"),
}


def case_search(
    *,
    user: User,
    status: str = "",
    kind: str = "",
    text: str = "",
    raised_from: dt.date | None = None,
    raised_to: dt.date | None = None,
) -> QuerySet[AnomalyCase]:
    """The cases of a tab (a status, or ``sheet_pending``: contact sheets sent and not yet
    answered) matching the filters; ``text`` is part of the meter's asset number, the
    customer's name or an account number involved (the base account or the one named)."""
    cases = visible_cases(user=user)
    if status == "sheet_pending":
        cases = cases.filter(sheet__isnull=False, sheet__answered_at__isnull=True)
    elif status:
        cases = cases.filter(status=status)
    if kind:
        cases = cases.filter(kind=kind)
    if text:
        bases = Point.objects.filter(kind=PointKind.BASE, account_number__startswith=text)
        cases = cases.filter(
            Q(meter_asset_number__icontains=text)
            | Q(group__customer__name__icontains=text)
            | Q(account_number__startswith=text)
            | Q(group_id__in=bases.values("group_id"))
        )
    if raised_from:
        cases = cases.filter(raised_on__gte=raised_from)
    if raised_to:
        cases = cases.filter(raised_on__lte=raised_to)
    return cases


def case_rows(*, cases: Any, today: dt.date) -> list[CaseRow]:
    case_list = list(
        AnomalyCase.objects.filter(pk__in=[case.pk for case in cases]).select_related(
            "group__customer"
        )
    )
    by_id = {case.pk: case for case in case_list}
    sheets = {
        sheet.case_id: sheet for sheet in ContactSheet.objects.filter(case_id__in=list(by_id))
    }
    bases = dict(
        Point.objects.filter(
            group_id__in={case.group_id for case in case_list}, kind=PointKind.BASE
        ).values_list("group_id", "account_number")
    )
    rows = []
    for case in cases:
        loaded = by_id[case.pk]
        sheet = sheets.get(loaded.pk)
        rows.append(
            CaseRow(
                case_id=loaded.pk,
                group_id=loaded.group_id,
                meter_asset_number=loaded.meter_asset_number,
                base_account_number=bases.get(loaded.group_id, ""),
                customer_name=loaded.group.customer.name,
                kind=loaded.kind,
                kind_label=loaded.get_kind_display(),
                status=loaded.status,
                status_label=loaded.get_status_display(),
                condition_since=loaded.condition_since,
                raised_on=loaded.raised_on,
                age_days=(today - loaded.raised_on).days,
                evidence=loaded.evidence,
                evidence_rows=evidence_rows(loaded.evidence),
                sheet_number=sheet.number if sheet else "",
                sheet_answered=bool(sheet and sheet.answered_at),
                cause_label=loaded.get_cause_display() if loaded.cause else "",
            )
        )
    return rows


def case_get(*, user: User, case_id: int) -> AnomalyCase:
    case = visible_cases(user=user).select_related("group").filter(pk=case_id).first()
    if case is None:
        from refmeter.registry.selectors import RecordNotVisible

        raise RecordNotVisible(_("未找到该异常，或它不属于您所在单位及下属单位。"))
    return case
