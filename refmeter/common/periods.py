"""Half-open date periods: a period covers ``start_date`` up to, not including, ``end_date``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    start_date: dt.date
    end_date: dt.date

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ValueError("a period cannot end before it starts")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
        return cls(start, end)

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days

    def overlap_days(self, active_from: dt.date | None, active_to: dt.date | None) -> int:
        """Days of this period inside ``[active_from, active_to)``; ``active_to`` None is open."""
        if active_from is None:
            return 0
        start = max(self.start_date, active_from)
        end = self.end_date if active_to is None else min(self.end_date, active_to)
        return max(0, (end - start).days)


def is_active_on(day: dt.date, active_from: dt.date | None, active_to: dt.date | None) -> bool:
    return active_from is not None and active_from <= day and (active_to is None or day < active_to)
