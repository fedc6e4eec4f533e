"""Multipliers: the active sub-accounts of a group on a day and over time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery

from refmeter.common.periods import Period
from refmeter.registry.models import Point, PointKind
from refmeter.registry.selectors.base import active_on_filter

# ---------------------------------------------------------------- multiplier


def max_concurrent(
    intervals: Iterable[tuple[dt.date, dt.date | None]], *, from_date: dt.date
) -> tuple[int, dt.date | None]:
    """The largest number of intervals active on one day on or after ``from_date``, and that day."""
    events: list[tuple[dt.date, int]] = []
    for start, end in intervals:
        if end is not None and end <= from_date:
            continue
        events.append((max(start, from_date), 1))
        if end is not None:
            events.append((end, -1))
    # Ends sort before starts on the same day: half-open periods do not overlap.
    events.sort(key=lambda event: (event[0], event[1]))
    current = best = 0
    best_day: dt.date | None = None
    for day, step in events:
        current += step
        if current > best:
            best, best_day = current, day
    return best, best_day


def group_multiplier_on(*, group_id: int, on_date: dt.date) -> int:
    """Active points of the group that day: the base account plus its active sub-accounts."""
    return Point.objects.filter(active_on_filter(on_date), group_id=group_id).count()


def base_account_subquery(*, group: str = "group_id") -> Subquery:
    """The base account number of the outer row's group, to annotate a query with."""
    return Subquery(
        Point.objects.filter(group_id=OuterRef(group), kind=PointKind.BASE).values(
            "account_number"
        )[:1]
    )


def group_point_days(*, group_id: int, period: Period) -> int:
    """Sum over the period's days of that day's multiplier."""
    rows = Point.objects.filter(
        group_id=group_id,
        active_from_date__lt=period.end_date,
    ).filter(Q(active_to_date__isnull=True) | Q(active_to_date__gt=period.start_date))
    return sum(
        period.overlap_days(active_from, active_to)
        for active_from, active_to in rows.values_list("active_from_date", "active_to_date")
    )


@dataclass(frozen=True)
class MultiplierSpan:
    from_date: dt.date
    to_date: dt.date | None
    multiplier: int


def multiplier_spans(
    intervals: Iterable[tuple[dt.date | None, dt.date | None]],
) -> list[MultiplierSpan]:
    """The multiplier as a sequence of spans, one per change, oldest first, from the
    points' active periods."""
    return counted_multiplier_spans((start, end, 1) for start, end in intervals)


def counted_multiplier_spans(
    intervals: Iterable[tuple[dt.date | None, dt.date | None, int]],
) -> list[MultiplierSpan]:
    """``multiplier_spans`` from active periods each held by a number of points (a query
    grouped by the two dates gives them without reading one row a point)."""
    changes: dict[dt.date, int] = {}
    for start, end, count in intervals:
        if start is None:
            continue
        changes[start] = changes.get(start, 0) + count
        if end is not None:
            changes[end] = changes.get(end, 0) - count
    spans: list[MultiplierSpan] = []
    level = 0
    days = sorted(changes)
    for index, day in enumerate(days):
        level += changes[day]
        next_day = days[index + 1] if index + 1 < len(days) else None
        if spans and spans[-1].multiplier == level and spans[-1].to_date == day:
            spans[-1] = MultiplierSpan(spans[-1].from_date, next_day, level)
        else:
            spans.append(MultiplierSpan(day, next_day, level))
    return [span for span in spans if span.multiplier or span.to_date is not None]


def group_multiplier_history(*, group_id: int) -> list[MultiplierSpan]:
    return multiplier_spans(
        Point.objects.filter(group_id=group_id, active_from_date__isnull=False).values_list(
            "active_from_date", "active_to_date"
        )
    )
