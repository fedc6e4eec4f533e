"""Detection as set-based SQL over all reference meters.

One pass over the readings computes, for every meter and every rule, the last day on
which the rule's condition held, the last day it did not and the first day it could be
judged (for the missing-reading rule: the last day without a reading, from
``LAG(reading_date)``). Whether a condition has persisted N days (or been gone N days)
follows from those dates; nothing loops over readings in Python.

The pass runs over the whole window (a full rescan) or, each night, over the new days
only, each meter's readings read back just far enough for the rules' look-back (its 31
readings before the new days); the dates found are then merged into the run state the
scan keeps per meter and rule (``MeterRuleState``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from refmeter.anomalies.models import RULE_DEFAULTS, AnomalyKind, AnomalyRule

WINDOW_DAYS = 400
LOOK_BACK_DAYS = 31  # readings before the window that the first day's figures need
MINIMUM_AVERAGE_KWH = Decimal("0.2")
STAGE = "anomalies_scan_stage"


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


def _sql_day_before(day: str) -> str:
    return f"date({day}, '-1 day')" if connection.vendor == "sqlite" else f"({day} - 1)"


def _sql_later(first: str, second: str) -> str:
    function = "max" if connection.vendor == "sqlite" else "GREATEST"
    return f"{function}({first}, {second})"


@dataclass(frozen=True)
class Window:
    """The days a scan as of ``as_of`` judges: ``window_from`` to ``as_of``; the pass reads
    readings from ``start`` and aggregates the days from ``evaluate_from`` (the window's
    first day in a full rescan, the first new day at night)."""

    as_of: dt.date
    evaluate_from: dt.date

    @property
    def window_from(self) -> dt.date:
        return self.as_of - dt.timedelta(days=WINDOW_DAYS)

    @property
    def start(self) -> dt.date:
        return self.window_from - dt.timedelta(days=LOOK_BACK_DAYS)

    @property
    def nightly(self) -> bool:
        return self.evaluate_from > self.window_from


def enabled_kinds(rules_in_force: dict[str, Rule]) -> list[str]:
    """The reading rules in force, then the missing-reading rule if it is."""
    kinds = [kind for kind, rule in rules_in_force.items() if rule.enabled and kind in CONDITIONS]
    if rules_in_force[AnomalyKind.MISSING].enabled:
        kinds.append(AnomalyKind.MISSING)
    return kinds


def pass_parameters(*, rules_in_force: dict[str, Rule], window: Window) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "as_of": window.as_of,
        "start": window.start,
        "window_from": window.window_from,
        "evaluate_from": window.evaluate_from,
        "minimum": MINIMUM_AVERAGE_KWH,
    }
    for kind in enabled_kinds(rules_in_force):
        if kind in CONDITIONS:
            parameters[f"threshold_{kind}"] = rules_in_force[kind].threshold
    if connection.vendor == "sqlite":
        # SQLite compares any number as smaller than any text: send numbers, not strings.
        parameters = {
            key: float(value) if isinstance(value, Decimal) else value
            for key, value in parameters.items()
        }
    return parameters


def readings_pass_query(kinds: list[str], *, nightly: bool) -> str:
    """One pass over the readings for every rule at once: a row per running group with,
    for each rule, ``true_<kind>``, ``false_<kind>``, ``first_<kind>`` (days) and
    ``figure_<kind>`` (the figure on ``as_of``), over the days from ``evaluate_from``.

    At night each meter's readings are read from its 31st reading before the new days (so
    its previous reading and the 30 before, which its own average needs, are there) but
    not before ``start``, as the full pass reads them."""
    as_of = _sql_date_parameter("as_of")
    start = _sql_date_parameter("start")
    window_from = _sql_date_parameter("window_from")
    evaluate_from = _sql_date_parameter("evaluate_from")
    # Each condition is worked out once a row: true, false, or NULL where it cannot be judged.
    flags = []
    columns = []
    for kind in kinds:
        if kind not in CONDITIONS:
            continue
        condition, evaluable, figure = CONDITIONS[kind]
        condition = condition.replace("%(threshold)s", f"%(threshold_{kind})s")
        flags.append(f"CASE WHEN ({evaluable}) THEN ({condition}) END AS holds_{kind}")
        columns.append(
            f"MAX(CASE WHEN holds_{kind} THEN day END) AS true_{kind}, "
            f"MAX(CASE WHEN NOT holds_{kind} THEN day END) AS false_{kind}, "
            f"MIN(CASE WHEN holds_{kind} IS NOT NULL THEN day END) AS first_{kind}, "
            f"MAX(CASE WHEN day = {as_of} AND holds_{kind} IS NOT NULL THEN {figure} END) "
            f"AS figure_{kind}"
        )
    if nightly:
        # Each running meter's first reading to read, found from the index on (meter, day);
        # then its readings from there, a range of that index each.
        look_back = f"""look_back AS MATERIALIZED (
  SELECT g.meter_asset_number AS meter,
         COALESCE((SELECT r.reading_date FROM readings_meterreading r
                   WHERE r.meter_asset_number = g.meter_asset_number
                     AND r.reading_date >= {start} AND r.reading_date < {evaluate_from}
                   ORDER BY r.reading_date DESC LIMIT 1 OFFSET {LOOK_BACK_DAYS - 1}),
                  {start}) AS from_day
  FROM registry_group g WHERE g.status = 'running'
), """
        if connection.vendor == "postgresql":
            readings = f"""look_back l
  CROSS JOIN LATERAL (
    SELECT * FROM readings_meterreading r
    WHERE r.meter_asset_number = l.meter
      AND r.reading_date >= l.from_day AND r.reading_date <= {as_of}
    OFFSET 0) m"""  # OFFSET 0: an index range per meter, not a scan of every reading
        else:
            readings = f"""look_back l
  JOIN readings_meterreading m
    ON m.meter_asset_number = l.meter
   AND m.reading_date >= l.from_day AND m.reading_date <= {as_of}"""
        # A group the last scan knew has had its days up to then counted; a new one has not.
        seen = "LEFT JOIN anomalies_scanmeter s ON s.group_id = g.id"
        missing_from = (
            f"CASE WHEN s.group_id IS NULL THEN {_sql_later('g.created_date', window_from)} "
            f"ELSE {_sql_later('g.created_date', evaluate_from)} END"
        )
    else:
        readings = f"""readings_meterreading m
  WHERE m.reading_date >= {start} AND m.reading_date <= {as_of}"""
        seen = ""
        look_back = ""
        missing_from = _sql_later("g.created_date", window_from)
    day_before = _sql_day_before("day")
    missing = ""
    if AnomalyKind.MISSING in kinds:
        missing = f""",
         MAX(CASE WHEN day >= missing_from THEN day END) AS read_missing,
         MAX(CASE WHEN day > missing_from AND (prev_day IS NULL OR prev_day < {day_before})
                  THEN {day_before} END) AS gap_missing"""
    aggregates = ", ".join(
        ["MAX(CASE WHEN day = " + as_of + " THEN fwd END) AS forward_now", *columns]
    )
    figures = ", ".join(
        f"a.true_{kind}, a.false_{kind}, a.first_{kind}, a.figure_{kind}"
        for kind in kinds
        if kind in CONDITIONS
    )
    missing_columns = ""
    if AnomalyKind.MISSING in kinds:
        missing_columns = f""",
       CASE WHEN {missing_from} > {as_of} THEN NULL
            WHEN a.forward_now IS NULL THEN {as_of}
            ELSE a.gap_missing END AS true_missing,
       a.read_missing AS false_missing,
       CASE WHEN {missing_from} > {as_of} THEN NULL ELSE {missing_from} END AS first_missing"""
    return f"""
WITH {look_back}base AS (
  SELECT m.group_id, m.meter_asset_number AS meter, m.reading_date AS day,
         m.forward_total AS fwd, m.reverse_total AS rev,
         m.sharp, m.peak, m.flat, m.valley,
         LAG(m.forward_total) OVER w AS prev_fwd,
         LAG(m.reverse_total) OVER w AS prev_rev,
         LAG(m.reading_date) OVER w AS prev_day
  FROM {readings}
  WINDOW w AS (PARTITION BY m.meter_asset_number ORDER BY m.reading_date)
), daily AS (
  SELECT b.*, g.ct_ratio, g.device_type_id, d.rated_watts, {missing_from} AS missing_from,
         CASE WHEN b.prev_fwd IS NULL THEN NULL
              ELSE (b.fwd - b.prev_fwd) / {_sql_days_between("b.day", "b.prev_day")} END AS energy
  FROM base b
  JOIN registry_group g ON g.id = b.group_id AND g.status = 'running'
  JOIN registry_devicetype d ON d.id = g.device_type_id
  {seen}
), stats AS (
  SELECT daily.*,
         AVG(energy) OVER (PARTITION BY meter ORDER BY day
                           ROWS BETWEEN 30 PRECEDING AND 1 PRECEDING) AS own_avg,
         -- the other meters of the device type that day, so an outlier does not raise its own bar
         (SUM(energy * ct_ratio) OVER peers - energy * ct_ratio)
           / NULLIF(COUNT(energy) OVER peers - 1, 0) AS peer_avg
  FROM daily
  WINDOW peers AS (PARTITION BY device_type_id, day)
), judged AS (
  SELECT stats.*{"".join(", " + flag for flag in flags)}
  FROM stats
  WHERE day >= {evaluate_from}
), agg AS (
  SELECT group_id, meter, {aggregates}{missing}
  FROM judged
  GROUP BY group_id, meter
)
SELECT g.id AS group_id, g.meter_asset_number AS meter, a.forward_now
       {", " + figures if figures else ""}{missing_columns}
FROM registry_group g
{seen}
LEFT JOIN agg a ON a.group_id = g.id
WHERE g.status = 'running'
"""


@dataclass(frozen=True)
class MeterState:
    """One meter and rule as of a day, within the window: when the condition last held and
    last did not, the first day it could be judged, and the figures of the day."""

    group_id: int
    meter: str
    last_true: dt.date | None
    last_false: dt.date | None
    first_day: dt.date | None
    forward_now: Any
    figure_now: Any


def as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def candidates_query(kinds: list[str]) -> str:
    """The meters and rules that may need a decision as of ``as_of``: the condition holds
    that day, or a case of the rule is open. The others raise or clear nothing."""
    figures = " ".join(
        f"WHEN '{kind}' THEN t.figure_{kind}" for kind in kinds if kind in CONDITIONS
    )
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    return f"""
SELECT s.kind, s.group_id, s.meter_asset_number, s.last_true, s.last_false, s.first_day,
       t.forward_now, {f"CASE s.kind {figures} ELSE NULL END" if figures else "NULL"}
FROM anomalies_meterrulestate s
JOIN {STAGE} t ON t.group_id = s.group_id
WHERE s.kind IN ({listed})
  AND (s.last_true = {_sql_date_parameter("as_of")}
       OR EXISTS (SELECT 1 FROM anomalies_anomalycase c
                  WHERE c.status = 'open' AND c.kind = s.kind
                    AND c.meter_asset_number = s.meter_asset_number))
"""
