"""The anomaly scan: every enabled rule over every reference meter as of a day, raising
and clearing cases.

Each night the scan reads only the days since the last scan (and each meter's readings
just before them that the rules look back on), merges what it finds into the run state
kept per meter and rule, and decides from that state. It rescans the whole window
instead when asked to, when there is no state yet, when the rules (or the window) have
changed, when the day scanned is not after the last one or more than a month after it,
when a running group's meter, device type, rated power, CT ratio or creation date has
changed or a group has stopped running, when readings of days already scanned have come
in or been corrected since, and when a decision would depend on days so near the far end
of the window that only the whole window can tell (``EDGE_MARGIN_DAYS``). Both ways give
the same cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from refmeter.anomalies.models import (
    AnomalyCase,
    AnomalyKind,
    CaseStatus,
    ContactSheet,
    ScanState,
)
from refmeter.anomalies.selectors import detection
from refmeter.anomalies.selectors.detection import (
    CONDITIONS,
    MINIMUM_AVERAGE_KWH,
    STAGE,
    MeterState,
    Rule,
    Window,
    as_date,
    candidates_query,
    enabled_kinds,
    pass_parameters,
    readings_pass_query,
    rules,
)

# A decision resting on a day this near the window's far end is taken on the whole window:
# the figures of such a day (its previous reading, its own 30-reading average) may have been
# read, the night it was new, from readings the window no longer holds.
EDGE_MARGIN_DAYS = 100
# Beyond this many new days, the full rescan is the cheaper way.
NIGHTLY_MAX_DAYS = 31


@dataclass
class ScanResult:
    as_of: dt.date
    raised: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    still_open: int = 0
    full: bool = True
    full_because: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "raised": self.raised,
            "cleared": self.cleared,
            "raised_total": sum(self.raised.values()),
            "cleared_total": sum(self.cleared.values()),
            "still_open": self.still_open,
            "full": self.full,
            "full_because": self.full_because,
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


def _fingerprint(rules_in_force: dict[str, Rule]) -> dict[str, Any]:
    """What the run state depends on besides the readings and the registry."""
    return {
        "window_days": detection.WINDOW_DAYS,
        "edge_margin_days": EDGE_MARGIN_DAYS,
        "minimum": str(MINIMUM_AVERAGE_KWH),
        "rules": {
            kind: [rule.enabled, rule.raise_after_days, rule.clear_after_days, str(rule.threshold)]
            for kind, rule in sorted(rules_in_force.items())
        },
    }


_REGISTRY_CHANGED = """
SELECT 1 FROM anomalies_scanmeter s
LEFT JOIN registry_group g ON g.id = s.group_id
LEFT JOIN registry_devicetype d ON d.id = g.device_type_id
WHERE g.id IS NULL OR g.status <> 'running' OR g.meter_asset_number <> s.meter_asset_number
   OR g.device_type_id <> s.device_type_id OR g.ct_ratio <> s.ct_ratio
   OR d.rated_watts <> s.rated_watts OR g.created_date <> s.created_date
LIMIT 1
"""
_NEW_GROUP_WITH_OLD_READINGS = """
SELECT 1 FROM registry_group g
LEFT JOIN anomalies_scanmeter s ON s.group_id = g.id
WHERE g.status = 'running' AND s.group_id IS NULL
  AND EXISTS (SELECT 1 FROM readings_meterreading r
              WHERE r.meter_asset_number = g.meter_asset_number AND r.reading_date <= %s)
LIMIT 1
"""
_READINGS_ADDED = "SELECT 1 FROM readings_meterreading WHERE id > %s AND reading_date <= %s LIMIT 1"
_READINGS_CORRECTED = (
    "SELECT 1 FROM readings_meterreading WHERE batch_id > %s AND reading_date <= %s LIMIT 1"
)


def _full_because(state: ScanState | None, *, as_of: dt.date, fingerprint: dict[str, Any]) -> str:
    """Why the run state cannot serve this scan ("" when it can)."""
    if state is None:
        return "no_state"
    if state.fingerprint != fingerprint:
        return "rules_changed"
    if as_of < state.scanned_through:
        return "earlier_day"
    if (as_of - state.scanned_through).days > NIGHTLY_MAX_DAYS:
        return "long_gap"
    scanned = state.scanned_through
    with connection.cursor() as cursor:
        checks: list[tuple[str, str, list[Any]]] = [
            ("registry_changed", _REGISTRY_CHANGED, []),
            ("registry_changed", _NEW_GROUP_WITH_OLD_READINGS, [scanned]),
            ("readings_changed", _READINGS_ADDED, [state.reading_mark, scanned]),
            ("readings_changed", _READINGS_CORRECTED, [state.batch_mark, scanned]),
        ]
        for reason, sql, parameters in checks:
            cursor.execute(sql, parameters)
            if cursor.fetchone():
                return reason
    return ""


def _marks() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM readings_meterreading")
        reading_mark = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM readings_readingbatch")
        batch_mark = cursor.fetchone()[0]
    return int(reading_mark), int(batch_mark)


def _drop_stage() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")


def _stage(*, kinds: list[str], rules_in_force: dict[str, Rule], window: Window) -> None:
    """The pass over the readings, kept in a temporary table for the statements after it."""
    _drop_stage()
    query = readings_pass_query(kinds, nightly=window.nightly)
    parameters = pass_parameters(rules_in_force=rules_in_force, window=window)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The pass sorts the window's readings: let it do so in memory, not on disk.
            cursor.execute("SET LOCAL work_mem = '512MB'")
            if window.nightly:
                # Compiling the pass would take longer than the few days it reads.
                cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} AS {query}", parameters)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {STAGE}")


def _state_rows(kinds: list[str]) -> str:
    return " UNION ALL ".join(
        f"SELECT group_id, meter, '{kind}' AS kind, true_{kind} AS last_true, "
        f"false_{kind} AS last_false, first_{kind} AS first_day "
        f"FROM {STAGE} WHERE first_{kind} IS NOT NULL"
        for kind in kinds
    )


_STATE_COLUMNS = "group_id, meter_asset_number, kind, last_true, last_false, first_day"


def _state_merge(kinds: list[str]) -> None:
    """The new days' dates over the state: the newer last days, the older first day."""
    if not kinds:
        return
    table = "anomalies_meterrulestate"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({_STATE_COLUMNS}) "
            f"SELECT * FROM ({_state_rows(kinds)}) AS found WHERE 1 = 1 "
            "ON CONFLICT (group_id, kind) DO UPDATE SET "
            "meter_asset_number = excluded.meter_asset_number, "
            f"last_true = COALESCE(excluded.last_true, {table}.last_true), "
            f"last_false = COALESCE(excluded.last_false, {table}.last_false), "
            f"first_day = COALESCE({table}.first_day, excluded.first_day)"
        )


def _state_replace(kinds: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM anomalies_meterrulestate")
        if kinds:
            cursor.execute(
                f"INSERT INTO anomalies_meterrulestate ({_STATE_COLUMNS}) {_state_rows(kinds)}"
            )


_SNAPSHOT = """
INSERT INTO anomalies_scanmeter
  (group_id, meter_asset_number, device_type_id, ct_ratio, rated_watts, created_date)
SELECT g.id, g.meter_asset_number, g.device_type_id, g.ct_ratio, d.rated_watts, g.created_date
FROM registry_group g
JOIN registry_devicetype d ON d.id = g.device_type_id
LEFT JOIN anomalies_scanmeter s ON s.group_id = g.id
WHERE g.status = 'running' AND s.group_id IS NULL
"""


def _remember(
    state: ScanState | None,
    *,
    as_of: dt.date,
    now: dt.datetime,
    full: bool,
    fingerprint: dict[str, Any],
    marks: tuple[int, int],
) -> None:
    with connection.cursor() as cursor:
        if full:
            cursor.execute("DELETE FROM anomalies_scanmeter")
        cursor.execute(_SNAPSHOT)
    if state is None:
        state = ScanState(full_on=as_of)
    state.scanned_through = as_of
    state.fingerprint = fingerprint
    state.reading_mark, state.batch_mark = marks
    state.scanned_at = now
    if full:
        state.full_on = as_of
    state.save()


def scan_state_forget() -> None:
    """Throw the run state away: the next scan is a full rescan."""
    from refmeter.anomalies.models import MeterRuleState, ScanMeter

    with transaction.atomic():
        ScanState.objects.all().delete()
        MeterRuleState.objects.all().delete()
        ScanMeter.objects.all().delete()


@dataclass
class _Decisions:
    to_create: dict[str, list[AnomalyCase]] = field(default_factory=dict)
    to_update: dict[str, list[AnomalyCase]] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)


def _candidates(kinds: list[str], as_of: dt.date) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in kinds}
    if not kinds:
        return found
    parameters: dict[str, Any] = {"as_of": as_of}
    with connection.cursor() as cursor:
        cursor.execute(candidates_query(kinds), parameters)
        for row in cursor.fetchall():
            found[row[0]].append(row[1:])
    return found


def _decide(
    *,
    kinds: list[str],
    rules_in_force: dict[str, Rule],
    as_of: dt.date,
    now: dt.datetime,
    nightly: bool,
    progress: Callable[[str], None],
) -> _Decisions | None:
    """The cases to raise, keep and clear; None when a nightly decision would rest on days
    at the window's far end (the caller then rescans the whole window)."""
    window_from = as_of - dt.timedelta(days=detection.WINDOW_DAYS)
    edge = window_from + dt.timedelta(days=EDGE_MARGIN_DAYS)

    def in_window(day: dt.date | None) -> dt.date | None:
        return day if day is not None and day >= window_from else None

    def settled(day: dt.date | None) -> bool:
        return day is not None and day >= edge

    decisions = _Decisions()
    for kind, rows in _candidates(kinds, as_of).items():
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
        for group_id, meter, *dates, forward_now, figure_now in rows:
            last_true, last_false, first_day = (as_date(value) for value in dates)
            if kind == AnomalyKind.MISSING:
                # Judged on every day from the group's creation: nothing hangs on the edge.
                first = max(first_day, window_from) if first_day else None
                state = MeterState(
                    group_id, meter, in_window(last_true), in_window(last_false), first, None, None
                )
            else:
                state = MeterState(
                    group_id,
                    meter,
                    in_window(last_true),
                    in_window(last_false),
                    in_window(first_day),
                    forward_now,
                    figure_now,
                )
                if state.last_true is None and state.last_false is None:
                    continue  # not judged on any day of the window
            case = open_cases.get(state.meter)
            holds_now = state.last_true == as_of
            if nightly and kind in CONDITIONS and not settled(first_day):
                raising = holds_now and case is None
                clearing = not holds_now and case is not None and state.meter not in with_sheet
                if (raising and not settled(last_false)) or (clearing and not settled(last_true)):
                    return None
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
                    decisions.cleared[kind] = decisions.cleared.get(kind, 0) + 1
        decisions.to_create[kind] = to_create
        decisions.to_update[kind] = to_update
    return decisions


def anomalies_scan(
    *,
    as_of: dt.date,
    now: dt.datetime,
    full: bool = False,
    progress: Callable[[str], None] = lambda kind: None,
) -> ScanResult:
    """Evaluate every enabled rule over every reference meter as of a day: from the run
    state and the new days when it can, over the whole window when ``full`` or when it
    cannot (``ScanResult.full_because`` says why)."""
    rules_in_force = rules()
    kinds = enabled_kinds(rules_in_force)
    fingerprint = _fingerprint(rules_in_force)
    result = ScanResult(as_of=as_of)
    with transaction.atomic():
        state = ScanState.objects.select_for_update().first()
        because = "asked" if full else _full_because(state, as_of=as_of, fingerprint=fingerprint)
        marks = _marks()
        progress("readings")
        decisions = None
        if not because and state is not None:
            first_new = min(state.scanned_through, as_of - dt.timedelta(days=1))
            window = Window(as_of=as_of, evaluate_from=first_new + dt.timedelta(days=1))
            _stage(kinds=kinds, rules_in_force=rules_in_force, window=window)
            _state_merge(kinds)
            decisions = _decide(
                kinds=kinds,
                rules_in_force=rules_in_force,
                as_of=as_of,
                now=now,
                nightly=True,
                progress=progress,
            )
            because = "" if decisions is not None else "window_edge"
        if decisions is None:
            window = Window(
                as_of=as_of, evaluate_from=as_of - dt.timedelta(days=detection.WINDOW_DAYS)
            )
            _stage(kinds=kinds, rules_in_force=rules_in_force, window=window)
            _state_replace(kinds)
            decisions = _decide(
                kinds=kinds,
                rules_in_force=rules_in_force,
                as_of=as_of,
                now=now,
                nightly=False,
                progress=progress,
            )
        assert decisions is not None
        for kind in kinds:
            AnomalyCase.objects.bulk_create(decisions.to_create.get(kind, []), batch_size=1000)
            AnomalyCase.objects.bulk_update(
                decisions.to_update.get(kind, []),
                ["last_seen_on", "status", "cleared_on", "closed_at"],
                batch_size=1000,
            )
            if decisions.to_create.get(kind):
                result.raised[kind] = len(decisions.to_create[kind])
        result.cleared = decisions.cleared
        result.full, result.full_because = bool(because), because
        _remember(
            state, as_of=as_of, now=now, full=result.full, fingerprint=fingerprint, marks=marks
        )
        _drop_stage()
    result.still_open = AnomalyCase.objects.filter(status=CaseStatus.OPEN).count()
    return result
