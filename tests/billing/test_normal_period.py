"""Back-billing from the meter's own history: the normal period, by default or typed in,
and the sanity bound on what it proposes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from refmeter.anomalies.models import AnomalyCase
from refmeter.anomalies.services import anomalies_scan
from refmeter.billing.models import Bill
from refmeter.billing.services import (
    BackBillingOverBound,
    UnableToBill,
    billing_run,
)
from refmeter.readings.models import MeterReading
from tests.billing.back_billings import (
    JUNE,
    NOW,
    compute,
    meter,
    own_history,
    state,
    zero_case,
)


class TestTheDefaultNormalPeriod:
    def test_is_the_three_full_months_before_the_anomaly_not_the_faulty_zero(
        self, city, group, billing
    ):
        meter(group)
        case = zero_case()

        item = own_history(billing, group, case)

        # normal: 1 Feb - 1 May, 178 kWh / 89 days = 2 kWh a day; due 2 x 156 point-days (10 May -
        # 1 July, 52 days x 3) = 312.00; billed 0 (the register reads 0); 312.00 x 0.658 = 205.30
        assert case.condition_since == dt.date(2026, 5, 10)
        assert (item.energy, item.amount) == (Decimal("312.00"), Decimal("205.30"))
        assert (item.parameters["baseline_start"], item.parameters["baseline_end"]) == (
            "2026-02-01",
            "2026-05-01",
        )
        assert item.steps[3] == {
            "step": "正常期间（自动选取：异常起始日 2026-05-10 之前不含异常的完整月份）",
            "value": "2026-02-01 — 2026-05-01（89 天：2026-02、2026-03、2026-04）",
        }

    def test_stops_going_back_at_a_month_with_an_earlier_anomaly(self, city, group, billing):
        meter(group, flat=(dt.date(2026, 3, 10), dt.date(2026, 3, 15)))
        anomalies_scan(as_of=dt.date(2026, 3, 15), now=NOW)
        anomalies_scan(as_of=dt.date(2026, 4, 1), now=NOW)
        case = zero_case()

        item = own_history(billing, group, case)

        assert AnomalyCase.objects.get(kind="stopped").cleared_on == dt.date(2026, 3, 18)
        assert (item.parameters["baseline_start"], item.parameters["baseline_end"]) == (
            "2026-04-01",
            "2026-05-01",
        )
        assert item.steps[3]["value"] == "2026-04-01 — 2026-05-01（30 天：2026-04）"
        assert (item.energy, item.amount) == (Decimal("312.00"), Decimal("205.30"))

    def test_is_refused_when_the_month_before_has_an_anomaly(self, city, group, billing):
        meter(group, flat=(dt.date(2026, 4, 10), dt.date(2026, 4, 15)))
        anomalies_scan(as_of=dt.date(2026, 4, 15), now=NOW)
        case = zero_case()
        before = state()

        with pytest.raises(UnableToBill) as refused:
            own_history(billing, group, case)

        assert str(refused.value) == (
            "异常起始日 2026-05-10 前的完整月份 2026-04 含有异常天数，无法自动选取正常期间；"
            "请填写正常期间，或改用其他计算方法。"
        )
        assert state() == before

    def test_with_missing_daily_readings_is_refused(self, city, group, billing):
        meter(group)
        case = zero_case()
        MeterReading.objects.filter(
            group=group, reading_date__in=[dt.date(2026, 4, 2), dt.date(2026, 4, 3)]
        ).delete()
        MeterReading.objects.filter(group=group, reading_date=dt.date(2026, 2, 20)).delete()
        before = state()

        with pytest.raises(UnableToBill) as refused:
            own_history(billing, group, case)

        assert str(refused.value) == (
            "正常期间 2026-02-01 至 2026-05-01 缺少 3 天的日冻结读数（2026-02-20 等），"
            "不能作为基准。"
        )
        assert state() == before


class TestATypedInNormalPeriod:
    def test_overlapping_the_back_billing_period_is_refused(self, city, group, billing):
        meter(group)
        case = zero_case()
        before = state()

        with pytest.raises(UnableToBill) as refused:
            own_history(
                billing, group, case, baseline_start="2026-03-01", baseline_end="2026-06-01"
            )

        assert str(refused.value) == (
            "正常期间 2026-03-01 至 2026-06-01 与退补期间重叠，不能作为基准。"
        )
        assert state() == before

    def test_with_an_earlier_anomaly_inside_is_refused(self, city, group, billing):
        meter(group, flat=(dt.date(2026, 3, 10), dt.date(2026, 3, 15)))
        anomalies_scan(as_of=dt.date(2026, 3, 15), now=NOW)
        case = zero_case()
        before = state()

        with pytest.raises(UnableToBill) as refused:
            own_history(
                billing, group, case, baseline_start="2026-02-01", baseline_end="2026-05-01"
            )

        assert str(refused.value) == (
            "正常期间 2026-02-01 至 2026-05-01 含有异常天数（停走：2026-03-11 起），不能作为基准。"
        )
        assert state() == before

    def test_with_missing_readings_is_refused(self, city, group, billing, history):
        MeterReading.objects.filter(
            group=group,
            reading_date__in=[dt.date(2026, 4, 2), dt.date(2026, 4, 3), dt.date(2026, 4, 9)],
        ).delete()
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(
                billing, group, method="own_history",
                parameters={"baseline_start": "2026-03-01", "baseline_end": "2026-06-01"},
            )  # fmt: skip

        assert str(refused.value) == (
            "正常期间 2026-03-01 至 2026-06-01 缺少 3 天的日冻结读数（2026-04-02 等），"
            "不能作为基准。"
        )
        assert state() == before

    def test_with_no_energy_is_refused(self, city, group, billing, history):
        MeterReading.objects.filter(group=group, reading_date=dt.date(2026, 5, 1)).update(
            forward_total=Decimal(500)
        )
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(
                billing, group, method="own_history",
                parameters={"baseline_start": "2026-03-01", "baseline_end": "2026-05-01"},
            )  # fmt: skip

        assert str(refused.value) == (
            "正常期间 2026-03-01 至 2026-05-01 的参考表电量为 0.00 kWh（不大于零），不能作为基准。"
        )
        assert state() == before


class TestTheSanityBound:
    """Three times the group's largest ISSUED monthly bill of the 12 months before the end."""

    @pytest.fixture
    def june_bill(self, billing, history):
        billing_run(actor=billing, period="2026-06", now=NOW)
        # June: 30 kWh x 3 points = 90 kWh x 0.6580 = 59.22; bound 3 x 59.22 = 177.66
        assert Bill.objects.get().total_amount == Decimal("59.22")

    def test_an_amount_within_it_is_written_without_confirmation(
        self, city, group, billing, june_bill
    ):
        item = compute(billing, group, confirm_over_bound=False)

        assert (item.amount, item.sanity_bound, item.over_bound_confirmed) == (
            Decimal("39.48"),
            Decimal("177.66"),
            False,
        )

    def test_an_amount_equal_to_it_is_within_it(self, city, group, billing, june_bill):
        # 30 x 12 - 90 = 270 kWh x 0.658 = 177.66
        item = compute(billing, group, parameters={"correct_points": 12}, confirm_over_bound=False)

        assert (item.amount, item.over_bound_confirmed) == (Decimal("177.66"), False)

    def test_an_amount_above_it_is_previewed_and_nothing_written(
        self, city, group, billing, june_bill
    ):
        before = state()

        with pytest.raises(BackBillingOverBound) as refused:
            compute(billing, group, parameters={"correct_points": 13}, confirm_over_bound=False)

        # 30 x 13 - 90 = 300 kWh x 0.658 = 197.40
        preview = refused.value.preview
        assert (preview.energy, preview.amount, preview.sanity_bound) == (
            Decimal("300.00"),
            Decimal("197.40"),
            Decimal("177.66"),
        )
        assert preview.steps[-1]["value"] == "300.00 × 0.6580 = 197.40 元"
        assert str(refused.value) == (
            "退补金额 197.40 元超出合理范围：近 12 个月最大月度电费 59.22 元的 3 倍为 177.66 元。"
            "请核对计算过程，确认无误后勾选确认再提交。"
        )
        assert state() == before

    def test_a_refund_above_it_is_held_too(self, city, group, billing, june_bill):
        before = state()

        with pytest.raises(BackBillingOverBound) as refused:
            compute(
                billing, group, period_start=dt.date(2026, 3, 1), parameters={"correct_points": 1},
                confirm_over_bound=False,
            )  # fmt: skip

        # 214 kWh read; 214 x 3 billed; 214 - 642 = -428 kWh x 0.658 = -281.62
        assert refused.value.preview.amount == Decimal("-281.62")
        assert state() == before

    def test_confirmed_it_is_written_and_the_confirmation_kept(
        self, city, group, billing, june_bill
    ):
        item = compute(billing, group, parameters={"correct_points": 13}, confirm_over_bound=True)

        assert (item.amount, item.sanity_bound, item.over_bound_confirmed) == (
            Decimal("197.40"),
            Decimal("177.66"),
            True,
        )

    def test_with_no_bill_in_the_year_any_amount_needs_confirmation(
        self, city, group, billing, history
    ):
        before = state()

        with pytest.raises(BackBillingOverBound) as refused:
            compute(billing, group, parameters={"correct_points": 4}, confirm_over_bound=False)

        assert (refused.value.preview.amount, refused.value.preview.sanity_bound) == (
            Decimal("19.74"),
            Decimal("0.00"),
        )
        assert state() == before

    def test_a_bill_after_the_period_does_not_count(self, city, group, billing, june_bill):
        with pytest.raises(BackBillingOverBound) as refused:
            compute(
                billing, group, period_start=dt.date(2026, 5, 1), period_end=JUNE,
                confirm_over_bound=False,
            )  # fmt: skip

        assert refused.value.preview.sanity_bound == Decimal("0.00")
