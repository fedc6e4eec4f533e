"""Half-open date periods: a period covers ``start_date`` up to, not including, ``end_date``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

# The dates a user may name (a month to bill, a day to ask about): wide enough for any record,
# far enough from the calendar's ends (years 1 and 9999) that a day or a year added or taken
# in a calculation never leaves it.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


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


class UnusableMonth(ValueError):
    """The text does not name a month the system can work with; the message says why."""


def month_parse(text: str) -> Period:
    """The month named ``YYYY-MM`` (ASCII digits), from EARLIEST_DATE's year to LATEST_DATE's."""
    text = (text or "").strip()
    shown = text if len(text) <= 20 else text[:20] + "…"
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    if not match:
        raise UnusableMonth(
            _("账期“%(text)s”格式不正确，应为 YYYY-MM，例如 2026-10。") % {"text": shown}
        )
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise UnusableMonth(_("账期“%(text)s”的月份应在 01 到 12 之间。") % {"text": text})
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise UnusableMonth(
            _("账期“%(text)s”的年份应在 %(first)d 到 %(last)d 之间。")
            % {"text": text, "first": EARLIEST_DATE.year, "last": LATEST_DATE.year}
        )
    return Period.month(year, month)
