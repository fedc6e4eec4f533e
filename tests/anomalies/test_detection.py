from __future__ import annotations

import datetime as dt
from decimal import Decimal

from refmeter.anomalies.models import AnomalyCase, AnomalyKind, CaseStatus
from refmeter.anomalies.services import anomalies_scan
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def scan(day: dt.date):
    return anomalies_scan(as_of=day, now=NOW)


def cases(kind=None):
    found = AnomalyCase.objects.all()
    if kind:
        found = found.filter(kind=kind)
    return list(found.values_list("kind", "condition_since", "raised_on", "status"))


def group(city, *, start, sub_accounts=0, watts=400):
    device = factories.device_type(actor=city.south_admin, watts=watts)
    return factories.group(
        actor=city.south_admin,
        unit=city.south,
        place=city.south_place,
        sub_accounts=sub_accounts,
        active_from=start,
        device=device,
    )


class TestTheSourcesRealCases:
    def test_a_meter_stuck_at_1149_24_from_28_march_2013_is_raised_on_the_third_unchanged_day(
        self, city
    ):
        stuck = group(city, start=dt.date(2013, 1, 1), sub_accounts=5)
        # 1 to 28 March the register moves 0.5 kWh a day, reaching 1149.24 on the 28th; then stops.
        moving = [Decimal("1135.74") + Decimal("0.5") * day for day in range(28)]
        factories.readings(stuck, dt.date(2013, 3, 1), moving + [Decimal("1149.24")] * 20)

        scan(dt.date(2013, 3, 30))
        before = cases(AnomalyKind.STOPPED)
        scan(dt.date(2013, 3, 31))

        assert moving[-1] == Decimal("1149.24")
        assert before == []
        case = AnomalyCase.objects.get(kind=AnomalyKind.STOPPED)
        assert (case.condition_since, case.raised_on) == (
            dt.date(2013, 3, 29),
            dt.date(2013, 3, 31),
        )
        assert case.evidence["forward_total"] == "1149.24"
        assert case.evidence["figure"] == "0.00"

    def test_a_meter_reading_0_from_4_august_2012_after_reversed_wiring_is_raised(
        self, city, settings
    ):
        settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 400
        wrong = group(city, start=dt.date(2012, 1, 1), sub_accounts=311)
        # Wired in reverse: the reverse register grows from 25 July; from 4 August it reads 0.
        days = (dt.date(2012, 8, 10) - dt.date(2012, 7, 20)).days
        forward = [Decimal("830.00")] * 15 + [Decimal(0)] * (days - 15)
        reverse = [Decimal(0)] * 5 + [Decimal("1.2") * index for index in range(1, days - 4)]
        factories.readings(wrong, dt.date(2012, 7, 20), forward, reverse=reverse)

        scan(dt.date(2012, 7, 26))
        scan(dt.date(2012, 8, 5))
        before = cases(AnomalyKind.ZERO)
        scan(dt.date(2012, 8, 6))

        assert cases(AnomalyKind.REVERSE) == [
            (AnomalyKind.REVERSE, dt.date(2012, 7, 25), dt.date(2012, 7, 26), CaseStatus.OPEN)
        ]
        assert before == []
        assert cases(AnomalyKind.ZERO) == [
            (AnomalyKind.ZERO, dt.date(2012, 8, 4), dt.date(2012, 8, 6), CaseStatus.OPEN)
        ]


class TestOtherRules:
    def test_a_register_going_down_is_raised(self, city):
        meter = group(city, start=dt.date(2026, 1, 1))
        factories.readings(meter, dt.date(2026, 10, 1), [100, 101, 102, 101, 100, 99, 98])

        scan(dt.date(2026, 10, 5))

        assert cases(AnomalyKind.GOING_DOWN) == [
            (AnomalyKind.GOING_DOWN, dt.date(2026, 10, 4), dt.date(2026, 10, 5), CaseStatus.OPEN)
        ]

    def test_per_point_energy_above_the_rated_power_is_running_fast(self, city):
        # 50 W for 24 h is 1.2 kWh a day; the meter records 3 kWh a day.
        meter = group(city, start=dt.date(2026, 1, 1), watts=50)
        factories.readings(meter, dt.date(2026, 10, 1), [10 + 3 * day for day in range(6)])

        scan(dt.date(2026, 10, 6))

        case = AnomalyCase.objects.get(kind=AnomalyKind.RUNNING_FAST)
        assert (case.condition_since, case.raised_on) == (
            dt.date(2026, 10, 2),
            dt.date(2026, 10, 4),
        )
        assert case.evidence["figure"] == "3.00"

    def test_time_of_use_registers_not_adding_up_are_unbalanced(self, city):
        meter = group(city, start=dt.date(2026, 1, 1))
        totals = [100 + day for day in range(5)]
        registers = {
            "sharp": [10] * 5,
            "peak": [30] * 5,
            "flat": [40] * 5,
            "valley": [20 + day for day in range(2)] + [25] * 3,
        }
        factories.readings(meter, dt.date(2026, 10, 1), totals, registers=registers)

        scan(dt.date(2026, 10, 5))

        assert cases(AnomalyKind.UNBALANCED) == [
            (AnomalyKind.UNBALANCED, dt.date(2026, 10, 3), dt.date(2026, 10, 5), CaseStatus.OPEN)
        ]

    def test_a_sudden_jump_against_the_meters_own_history(self, city):
        meter = group(city, start=dt.date(2026, 1, 1), watts=1000)
        values = [Decimal(100) + 2 * day for day in range(31)]
        for _day in range(4):
            values.append(values[-1] + 10)
        factories.readings(meter, dt.date(2026, 9, 1), values)

        scan(dt.date(2026, 10, 5))

        assert cases(AnomalyKind.SUDDEN_SELF) == [
            (AnomalyKind.SUDDEN_SELF, dt.date(2026, 10, 2), dt.date(2026, 10, 4), CaseStatus.OPEN)
        ]

    def test_a_group_far_off_its_peers_of_the_same_device_type(self, city):
        device = factories.device_type(actor=city.south_admin, watts=1000)
        groups = [
            factories.group(
                actor=city.south_admin,
                unit=city.south,
                place=city.south_place,
                active_from=dt.date(2026, 1, 1),
                device=device,
            )
            for _index in range(6)
        ]
        for index, meter in enumerate(groups):
            step = 20 if index == 0 else 2
            factories.readings(meter, dt.date(2026, 10, 1), [100 + step * day for day in range(6)])

        scan(dt.date(2026, 10, 6))

        assert [
            case.group_id for case in AnomalyCase.objects.filter(kind=AnomalyKind.SUDDEN_PEERS)
        ] == [groups[0].pk]

    def test_missing_readings_are_raised_and_cleared_when_they_come_back(self, city):
        meter = group(city, start=dt.date(2026, 10, 1))
        factories.readings(meter, dt.date(2026, 10, 1), [100, 101, 102])
        scan(dt.date(2026, 10, 6))
        raised = cases(AnomalyKind.MISSING)
        factories.readings(meter, dt.date(2026, 10, 4), [103, 104, 105, 106, 107])

        scan(dt.date(2026, 10, 8))

        assert raised == [
            (AnomalyKind.MISSING, dt.date(2026, 10, 4), dt.date(2026, 10, 6), CaseStatus.OPEN)
        ]
        case = AnomalyCase.objects.get(kind=AnomalyKind.MISSING)
        assert (case.status, case.cleared_on) == (CaseStatus.CLEARED, dt.date(2026, 10, 5))


class TestPersistence:
    def test_one_odd_day_opens_no_case_and_a_case_clears_only_after_it_has_gone_n_days(self, city):
        meter = group(city, start=dt.date(2026, 1, 1))
        # Stuck 4 days (28-31 Oct readings equal), then moving again from 1 November.
        values = [100, 101, 102, 103, 103, 103, 103, 104, 105, 106, 107]
        factories.readings(meter, dt.date(2026, 10, 25), values)
        one_odd_day = [100, 101, 101, 102]
        other = group(city, start=dt.date(2026, 1, 1))
        factories.readings(other, dt.date(2026, 10, 25), one_odd_day)

        scan(dt.date(2026, 10, 31))
        scan(dt.date(2026, 11, 2))
        still_open = AnomalyCase.objects.get(kind=AnomalyKind.STOPPED).status
        scan(dt.date(2026, 11, 3))

        assert still_open == CaseStatus.OPEN
        case = AnomalyCase.objects.get(kind=AnomalyKind.STOPPED)
        assert case.group_id == meter.pk
        assert (case.status, case.cleared_on) == (CaseStatus.CLEARED, dt.date(2026, 11, 3))

    def test_one_open_case_per_meter_and_kind_however_often_it_is_scanned(self, city):
        meter = group(city, start=dt.date(2026, 1, 1))
        factories.readings(meter, dt.date(2026, 10, 1), [50] * 10)

        for day in range(4, 11):
            scan(dt.date(2026, 10, day))

        assert AnomalyCase.objects.filter(kind=AnomalyKind.STOPPED).count() == 1
        assert AnomalyCase.objects.get(kind=AnomalyKind.STOPPED).last_seen_on == dt.date(
            2026, 10, 10
        )


class TestTuning:
    def test_an_administrators_tuning_replaces_the_default(self, city):
        from refmeter.anomalies.models import AnomalyRule

        AnomalyRule.objects.create(
            kind="stopped", raise_after_days=5, clear_after_days=3, threshold=0
        )
        meter = group(city, start=dt.date(2026, 1, 1))
        factories.readings(meter, dt.date(2026, 10, 1), [50] * 6)

        scan(dt.date(2026, 10, 5))
        early = cases(AnomalyKind.STOPPED)
        scan(dt.date(2026, 10, 6))

        assert early == []
        assert cases(AnomalyKind.STOPPED) == [
            (AnomalyKind.STOPPED, dt.date(2026, 10, 2), dt.date(2026, 10, 6), CaseStatus.OPEN)
        ]
