"""Working days on the mainland China calendar, including make-up working days.

The ``chinese_calendar`` library knows the published years. For other years an
administrator enters the holidays (:class:`CalendarYear` and :class:`CalendarDay`);
a year nobody has entered is unknown, and asking about it raises
:class:`WorkingDaysUnknown` instead of guessing.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from django.utils.translation import gettext as _

from refmeter.common.models import CalendarDay, CalendarYear

LIBRARY_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


class WorkingDaysUnknown(Exception):
    def __init__(self, year: int):
        self.year = year
        super().__init__(
            _("%(year)d 年的节假日安排尚未录入，无法计算工作日；请系统管理员先录入该年度节假日。")
            % {"year": year}
        )


class _Calendar:
    """Answers for a span of days with two queries, whatever the span."""

    def __init__(self, start: dt.date, end: dt.date):
        self.overrides = dict(
            CalendarDay.objects.filter(day__gte=start, day__lte=end).values_list(
                "day", "is_working_day"
            )
        )
        self.entered_years = set(
            CalendarYear.objects.filter(year__gte=start.year, year__lte=end.year).values_list(
                "year", flat=True
            )
        )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.entered_years:
            return day.weekday() < 5
        if day.year in LIBRARY_YEARS:
            return bool(chinese_calendar.is_workday(day))
        raise WorkingDaysUnknown(day.year)


def is_working_day(day: dt.date) -> bool:
    return _Calendar(day, day).is_working_day(day)


def add_working_days(start: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
    if count < 0:
        raise ValueError("count must not be negative")
    # Long holidays are at most 8 days in a row, so 3 calendar days per working day is ample.
    calendar = _Calendar(start, start + dt.timedelta(days=count * 3 + 15))
    day = start
    found = 0
    while found < count:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            found += 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    calendar = _Calendar(start, end)
    return sum(
        1
        for offset in range(1, (end - start).days + 1)
        if calendar.is_working_day(start + dt.timedelta(days=offset))
    )
