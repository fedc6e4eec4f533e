"""The anomaly scan as it was before the nightly scan became incremental, kept word for word
(its two statements and its decisions) so the tests can compare the cases the current scan
raises against the ones this one raised on the same history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from refmeter.anomalies.models import AnomalyCase, AnomalyKind, CaseStatus, ContactSheet
from refmeter.anomalies.selectors import MINIMUM_AVERAGE_KWH, MeterState, Rule, detection, rules

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


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def meter_states(*, rules_in_force: dict[str, Rule], as_of: dt.date) -> dict[str, list[MeterState]]:
    window_days = detection.WINDOW_DAYS
    parameters: dict[str, Any] = {
        "as_of": as_of,
        "start": as_of - dt.timedelta(days=window_days + 31),
        "evaluate_from": as_of - dt.timedelta(days=window_days),
        "minimum": MINIMUM_AVERAGE_KWH,
    }
    kinds = [kind for kind, rule in rules_in_force.items() if rule.enabled and kind in CONDITIONS]
    for kind in kinds:
        parameters[f"threshold_{kind}"] = rules_in_force[kind].threshold
    if connection.vendor == "sqlite":
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


def legacy_scan(*, as_of: dt.date, now: dt.datetime) -> None:
    """The decisions of the scan before, on the states of its two statements."""
    rules_in_force = rules()
    all_states = meter_states(rules_in_force=rules_in_force, as_of=as_of)
    for kind, states in all_states.items():
        rule = rules_in_force[kind]
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
        with transaction.atomic():
            AnomalyCase.objects.bulk_create(to_create, batch_size=1000)
            AnomalyCase.objects.bulk_update(
                to_update, ["last_seen_on", "status", "cleared_on", "closed_at"], batch_size=1000
            )
