"""Detection as set-based SQL over all reference meters, and reads of cases and sheets.

One query per rule computes, for every meter, the last day in the window on which the
rule's condition held and the last day it did not. Whether a condition has persisted
N days (or been gone N days) follows from those two dates; nothing loops over readings
in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.anomalies.models import (
    RULE_DEFAULTS,
    AnomalyCase,
    AnomalyKind,
    AnomalyRule,
    ContactSheet,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Point, PointKind

WINDOW_DAYS = 400
MINIMUM_AVERAGE_KWH = Decimal("0.2")


@dataclass(frozen=True)
class Rule:
    kind: str
    enabled: bool
    raise_after_days: int
    clear_after_days: int
    threshold: Decimal


def rules() -> dict[str, Rule]:
    """The rules in force: the administrator's tuning over the defaults."""
    tuned = {rule.kind: rule for rule in AnomalyRule.objects.all()}
    found = {}
    for kind, (raise_after, clear_after, threshold) in RULE_DEFAULTS.items():
        rule = tuned.get(kind)
        found[kind] = Rule(
            kind=kind,
            enabled=rule.enabled if rule else True,
            raise_after_days=rule.raise_after_days if rule else raise_after,
            clear_after_days=rule.clear_after_days if rule else clear_after,
            threshold=rule.threshold if rule else threshold,
        )
    return found


# condition, the rows on which it can be judged, and the figure kept as evidence
CONDITIONS: dict[str, tuple[str, str, str]] = {
    AnomalyKind.STOPPED: ("fwd = prev_fwd AND fwd > 0", "prev_fwd IS NOT NULL", "energy"),
    AnomalyKind.ZERO: ("fwd = 0", "1 = 1", "fwd"),
    AnomalyKind.REVERSE: (
        "rev - prev_rev > %(threshold)s",
        "prev_rev IS NOT NULL",
        "rev - prev_rev",
    ),
    AnomalyKind.GOING_DOWN: (
        "prev_fwd - fwd > %(threshold)s",
        "prev_fwd IS NOT NULL",
        "fwd - prev_fwd",
    ),
    AnomalyKind.RUNNING_FAST: (
        "energy * ct_ratio > rated_watts * 24 / 1000 * %(threshold)s",
        "energy IS NOT NULL",
        "energy * ct_ratio",
    ),
    AnomalyKind.UNBALANCED: (
        "ABS(sharp + peak + flat + valley - fwd) > %(threshold)s",
        "sharp IS NOT NULL AND peak IS NOT NULL AND flat IS NOT NULL AND valley IS NOT NULL",
        "sharp + peak + flat + valley - fwd",
    ),
    AnomalyKind.SUDDEN_SELF: (
        "(energy > own_avg * %(threshold)s OR energy * %(threshold)s < own_avg)",
        "energy IS NOT NULL AND own_avg IS NOT NULL AND own_avg > %(minimum)s",
        "energy",
    ),
    AnomalyKind.SUDDEN_PEERS: (
        "(energy * ct_ratio > peer_avg * %(threshold)s "
        "OR energy * ct_ratio * %(threshold)s < peer_avg)",
        "energy IS NOT NULL AND peer_avg IS NOT NULL AND peer_avg > %(minimum)s",
        "energy * ct_ratio",
    ),
}


def _sql_days_between(later: str, earlier: str) -> str:
    if connection.vendor == "sqlite":
        return f"(julianday({later}) - julianday({earlier}))"
    return f"({later} - {earlier})"


def _sql_date_parameter(name: str) -> str:
    return f"%({name})s" if connection.vendor == "sqlite" else f"CAST(%({name})s AS date)"


def _readings_query(kinds: list[str]) -> str:
    """One pass over the readings window for all reading-based rules at once."""
    as_of = _sql_date_parameter("as_of")
    columns = []
    for kind in kinds:
        condition, evaluable, figure = CONDITIONS[kind]
        condition = condition.replace("%(threshold)s", f"%(threshold_{kind})s")
        columns.append(
            f"MAX(CASE WHEN ({evaluable}) AND ({condition}) THEN day END) AS true_{kind}, "
            f"MAX(CASE WHEN ({evaluable}) AND NOT ({condition}) THEN day END) AS false_{kind}, "
            f"MIN(CASE WHEN ({evaluable}) THEN day END) AS first_{kind}, "
            f"MAX(CASE WHEN day = {as_of} AND ({evaluable}) THEN {figure} END) AS figure_{kind}"
        )
    return f"""
WITH base AS (
  SELECT m.group_id, m.meter_asset_number AS meter, m.reading_date AS day,
         m.forward_total AS fwd, m.reverse_total AS rev,
         m.sharp, m.peak, m.flat, m.valley,
         LAG(m.forward_total) OVER w AS prev_fwd,
         LAG(m.reverse_total) OVER w AS prev_rev,
         LAG(m.reading_date) OVER w AS prev_day
  FROM readings_meterreading m
  WHERE m.reading_date >= {_sql_date_parameter("start")} AND m.reading_date <= {as_of}
  WINDOW w AS (PARTITION BY m.meter_asset_number ORDER BY m.reading_date)
), daily AS (
  SELECT b.*, g.ct_ratio, g.device_type_id, d.rated_watts,
         CASE WHEN b.prev_fwd IS NULL THEN NULL
              ELSE (b.fwd - b.prev_fwd) / {_sql_days_between("b.day", "b.prev_day")} END AS energy
  FROM base b
  JOIN registry_group g ON g.id = b.group_id AND g.status = 'running'
  JOIN registry_devicetype d ON d.id = g.device_type_id
), stats AS (
  SELECT daily.*,
         AVG(energy) OVER (PARTITION BY meter ORDER BY day
                           ROWS BETWEEN 30 PRECEDING AND 1 PRECEDING) AS own_avg,
         -- the other meters of the device type that day, so an outlier does not raise its own bar
         (SUM(energy * ct_ratio) OVER peers - energy * ct_ratio)
           / NULLIF(COUNT(energy) OVER peers - 1, 0) AS peer_avg
  FROM daily
  WINDOW peers AS (PARTITION BY device_type_id, day)
)
SELECT group_id, meter, MAX(CASE WHEN day = {as_of} THEN fwd END) AS forward_now,
       {", ".join(columns)}
FROM stats
WHERE day >= {_sql_date_parameter("evaluate_from")}
GROUP BY group_id, meter
"""


def _missing_query() -> str:
    if connection.vendor == "sqlite":
        start, step = "%(evaluate_from)s", "date(day, '+1 day')"
    else:
        start, step = "CAST(%(evaluate_from)s AS date)", "day + 1"
    as_of = _sql_date_parameter("as_of")
    return f"""
WITH RECURSIVE days(day) AS (
  SELECT {start} UNION ALL SELECT {step} FROM days WHERE day < {as_of}
)
SELECT g.id, g.meter_asset_number,
       MAX(CASE WHEN m.id IS NULL THEN days.day END) AS last_true,
       MAX(CASE WHEN m.id IS NOT NULL THEN days.day END) AS last_false,
       MIN(days.day) AS first_day,
       NULL AS forward_now, NULL AS figure_now
FROM registry_group g
CROSS JOIN days
LEFT JOIN readings_meterreading m
       ON m.meter_asset_number = g.meter_asset_number AND m.reading_date = days.day
WHERE g.status = 'running' AND g.created_date <= days.day
GROUP BY g.id, g.meter_asset_number
"""


@dataclass(frozen=True)
class MeterState:
    group_id: int
    meter: str
    last_true: dt.date | None
    last_false: dt.date | None
    first_day: dt.date | None
    forward_now: Any
    figure_now: Any


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def meter_states(*, rules_in_force: dict[str, Rule], as_of: dt.date) -> dict[str, list[MeterState]]:
    """For every enabled rule and every reference meter: when the condition last held and
    last did not, in the window before ``as_of``."""
    parameters: dict[str, Any] = {
        "as_of": as_of,
        "start": as_of - dt.timedelta(days=WINDOW_DAYS + 31),
        "evaluate_from": as_of - dt.timedelta(days=WINDOW_DAYS),
        "minimum": MINIMUM_AVERAGE_KWH,
    }
    kinds = [kind for kind, rule in rules_in_force.items() if rule.enabled and kind in CONDITIONS]
    for kind in kinds:
        parameters[f"threshold_{kind}"] = rules_in_force[kind].threshold
    if connection.vendor == "sqlite":
        # SQLite compares any number as smaller than any text: send numbers, not strings.
        parameters = {
            key: float(value) if isinstance(value, Decimal) else value
            for key, value in parameters.items()
        }
    states: dict[str, list[MeterState]] = {kind: [] for kind in kinds}
    with connection.cursor() as cursor:
        if kinds:
            cursor.execute(_readings_query(kinds), parameters)
            for row in cursor.fetchall():
                group_id, meter, forward_now = row[0], row[1], row[2]
                for index, kind in enumerate(kinds):
                    last_true, last_false, first, figure = row[3 + 4 * index : 7 + 4 * index]
                    if first is None:
                        continue
                    states[kind].append(
                        MeterState(
                            group_id=group_id,
                            meter=meter,
                            last_true=_as_date(last_true),
                            last_false=_as_date(last_false),
                            first_day=_as_date(first),
                            forward_now=forward_now,
                            figure_now=figure,
                        )
                    )
        if rules_in_force[AnomalyKind.MISSING].enabled:
            cursor.execute(_missing_query(), parameters)
            states[AnomalyKind.MISSING] = [
                MeterState(row[0], row[1], _as_date(row[2]), _as_date(row[3]),
                           _as_date(row[4]), None, None)
                for row in cursor.fetchall()
            ]  # fmt: skip
    return states


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
