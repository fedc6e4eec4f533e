from __future__ import annotations

import datetime as dt

import pytest

from refmeter.common.models import CalendarDay, CalendarYear
from refmeter.common.workdays import (
    WorkingDaysUnknown,
    add_working_days,
    is_working_day,
    working_days_between,
)


class TestMainlandCalendar:
    def test_seven_working_days_after_30_september_skip_national_day_but_count_the_make_up_saturday(
        self, db
    ):
        assert add_working_days(dt.date(2026, 9, 30), 7) == dt.date(2026, 10, 15)

    def test_the_make_up_saturday_is_a_working_day_and_a_holiday_monday_is_not(self, db):
        assert is_working_day(dt.date(2026, 10, 10))
        assert not is_working_day(dt.date(2026, 10, 5))

    def test_working_days_between_counts_after_the_start(self, db):
        assert working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 15)) == 7


class TestYearsTheLibraryDoesNotKnow:
    def test_an_unentered_year_is_flagged_not_guessed(self, db):
        with pytest.raises(WorkingDaysUnknown) as refusal:
            add_working_days(dt.date(2026, 12, 28), 7)

        assert str(refusal.value) == (
            "2027 年的节假日安排尚未录入，无法计算工作日；请系统管理员先录入该年度节假日。"
        )

    def test_an_administrator_enters_the_holidays_of_a_new_year(self, db):
        CalendarYear.objects.create(year=2027, note="国务院办公厅通知")
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(day=dt.date(2027, 1, 1), is_working_day=False, note="元旦"),
                CalendarDay(day=dt.date(2027, 1, 2), is_working_day=True, note="元旦调休"),
            ]
        )

        # 28-31 Dec 2026 (4), 1 Jan holiday, 2 Jan make-up Saturday (5), 4-5 Jan (7).
        assert add_working_days(dt.date(2026, 12, 27), 7) == dt.date(2027, 1, 5)
