from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from refmeter.readings.models import MeterReading


@dataclass(frozen=True)
class ReadingPoint:
    day: dt.date
    forward_total: Decimal
    reverse_total: Decimal
    daily_energy: Decimal | None  # energy of the previous day: this reading minus the last


def meter_series(*, group_id: int, start: dt.date, end: dt.date) -> list[ReadingPoint]:
    """Readings of a group's reference meter in [start, end), with each day's energy."""
    rows = list(
        MeterReading.objects.filter(
            group_id=group_id, reading_date__gte=start - dt.timedelta(days=1), reading_date__lt=end
        )
        .order_by("reading_date")
        .values_list("reading_date", "forward_total", "reverse_total")
    )
    series = []
    previous: Decimal | None = None
    for day, forward, reverse in rows:
        if day >= start:
            series.append(
                ReadingPoint(
                    day, forward, reverse, forward - previous if previous is not None else None
                )
            )
        previous = forward
    return series


def reading_on(*, group_id: int, day: dt.date) -> MeterReading | None:
    return MeterReading.objects.filter(group_id=group_id, reading_date=day).first()
