"""Back-billing checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from refmeter.anomalies.services import anomaly_case_open_by_hand
from refmeter.audit.models import AuditEntry
from refmeter.billing.models import BackBilling, Bill, BillAdjustment
from refmeter.billing.services import (
    BackBillingOverlaps,
    UnableToBill,
    back_billing_approve,
    back_billing_compute,
    back_billing_withdraw,
    billing_run,
    tariff_create,
)
from refmeter.billing.services import back_billing as back_billing_module
from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.readings.models import MeterReading
from tests import factories
from tests.billing.back_billings import (
    JULY,
    JUNE,
    NOW,
    compute,
    open_case,
    state,
)


class TestBackBilling:
    def test_by_the_meters_own_normal_months(self, city, group, billing, history):
        item = back_billing_compute(
            actor=billing, group_id=group.pk, method="own_history",
            period_start=JUNE, period_end=JULY, now=NOW, confirm_over_bound=True,
            parameters={"baseline_start": "2026-03-01", "baseline_end": "2026-06-01"},
        )  # fmt: skip

        # normal: 184 kWh / 92 days = 2 kWh a point a day; due 2 x 90 point-days = 180.00
        # billed: 30 kWh x 90 / 30 = 90.00; back-bill 90.00 kWh x 0.6580 = 59.22 yuan
        assert (item.energy, item.amount) == (Decimal("90.00"), Decimal("59.22"))
        assert [step["step"] for step in item.steps][-3:] == [
            "退补电量 = 应结算电量 − 已结算电量",
            "电价",
            "退补金额（正为追补，负为退还）",
        ]

    def test_by_the_rated_power(self, city, group, billing, history):
        item = back_billing_compute(
            actor=billing, group_id=group.pk, method="rated",
            period_start=JUNE, period_end=JULY, now=NOW, confirm_over_bound=True,
        )  # fmt: skip

        # 400 W x 24 h = 9.6 kWh a point a day; x 90 = 864.00; billed 90.00; 774.00 x 0.658 = 509.29
        assert (item.energy, item.amount) == (Decimal("774.00"), Decimal("509.29"))

    def test_by_healthy_peers_of_the_same_device_type(self, city, group, billing, history):
        peer = factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            active_from=dt.date(2026, 1, 1),
            device=group.device_type,
        )
        factories.readings(peer, JUNE, [Decimal(10) + Decimal("2.5") * d for d in range(31)])

        item = back_billing_compute(
            actor=billing, group_id=group.pk, method="peers",
            period_start=JUNE, period_end=JULY, now=NOW, confirm_over_bound=True,
        )  # fmt: skip

        # peer: 2.5 kWh a day; due 2.5 x 90 = 225.00; billed 90.00; 135.00 x 0.658 = 88.83
        assert (item.energy, item.amount) == (Decimal("135.00"), Decimal("88.83"))

    def test_a_peer_that_read_nothing_is_not_a_healthy_peer(self, city, group, billing, history):
        healthy, stopped = (
            factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place,
                active_from=dt.date(2026, 1, 1), device=group.device_type,
            )
            for _index in range(2)
        )  # fmt: skip
        factories.readings(healthy, JUNE, [Decimal(10) + Decimal("2.5") * d for d in range(31)])
        factories.readings(stopped, JUNE, [Decimal(10)] * 31)

        item = compute(billing, group, method="peers", parameters={})

        # only the healthy peer: 2.5 kWh a day, as above
        assert (item.energy, item.amount) == (Decimal("135.00"), Decimal("88.83"))
        assert item.steps[3]["value"] == "1 个群组"

    def test_a_multiplier_mismatch_bills_the_unregistered_points(
        self, city, group, billing, history
    ):
        item = compute(billing, group, parameters={"correct_points": 5})

        # 30 kWh x 5 points = 150.00 due; billed 90.00; 60.00 kWh x 0.6580 = 39.48
        assert (item.energy, item.amount) == (Decimal("60.00"), Decimal("39.48"))

    def test_the_ct_ratio_and_price_in_force_on_each_day_are_used(
        self, city, group, billing, history
    ):
        tariff_create(code="LV-B", name="调整", effective_from=dt.date(2020, 1, 1),
                      price=Decimal("1.0000"))  # fmt: skip
        factories.group_terms(group, actor=city.south_admin, from_date=dt.date(2026, 6, 16),
                              ct_ratio=2, tariff_code="LV-B")  # fmt: skip

        item = compute(billing, group, parameters={"correct_points": 5})

        # 15 kWh x 1 + 15 kWh x 2 = 45 kWh; due 45 x 5 = 225.00; billed 45 x 3 = 135.00;
        # 90.00 kWh at the price of the period's last day, 1.0000
        assert (item.energy, item.price, item.amount) == (
            Decimal("90.00"),
            Decimal("1.0000"),
            Decimal("90.00"),
        )

    def test_a_refund_is_negative(self, city, group, billing, history):
        item = compute(billing, group, parameters={"correct_points": 2})

        assert (item.energy, item.amount) == (Decimal("-30.00"), Decimal("-19.74"))

    def test_approved_it_is_posted_on_the_next_bill(
        self, city, group, billing, second_billing, history
    ):
        item = compute(
            billing, group, period_start=dt.date(2026, 5, 1), period_end=JUNE,
            parameters={"correct_points": 4},
        )  # fmt: skip
        with pytest.raises(UnableToBill):
            back_billing_approve(actor=billing, back_billing_id=item.pk, now=NOW)

        back_billing_approve(actor=second_billing, back_billing_id=item.pk, now=NOW)
        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # May: 62 kWh; 62 x 4 - 62 x 3 = 62.00 kWh x 0.6580 = 40.80 back-billed
        assert bill.adjustment_amount == Decimal("40.80")
        assert bill.total_amount == bill.energy_amount + Decimal("40.80")


class TestNonsenseInputsAreRefused:
    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            (
                {"period_start": JULY, "period_end": JUNE},
                "退补期间的结束日期必须晚于开始日期。",
            ),
            (
                {"period_start": JUNE, "period_end": JUNE},
                "退补期间的结束日期必须晚于开始日期。",
            ),
            (
                {"period_start": dt.date(2026, 2, 1), "period_end": JUNE},
                "缺少 2026-02-01 的日冻结读数，无法计算。",
            ),
            (
                {"period_end": dt.date(2026, 7, 3)},
                "退补期间的结束日期不能晚于今天（2026-07-02）：还没有它的日冻结读数。",
            ),
            (
                {"method": "own_history", "parameters": {"baseline_start": "2026-03-01"}},
                "请同时填写正常期间的开始和结束日期，或都不填由系统自动选取。",
            ),
            (
                {
                    "method": "own_history",
                    "parameters": {"baseline_start": "2026-05-01", "baseline_end": "2026-03-01"},
                },
                "正常期间的结束日期必须晚于开始日期。",
            ),
            (
                {
                    "method": "own_history",
                    "parameters": {"baseline_start": "2026-05-01", "baseline_end": "2026-6-15"},
                },
                "正常期间的日期格式不正确，应为 YYYY-MM-DD。",
            ),
            (
                {
                    "method": "own_history",
                    "parameters": {"baseline_start": "2026-05-01", "baseline_end": "2026-06-15"},
                },
                "正常期间 2026-05-01 至 2026-06-15 与退补期间重叠，不能作为基准。",
            ),
            ({"parameters": {"correct_points": "五"}}, "请填写现场核实的正确点数（含基准户）。"),
            ({"parameters": {"correct_points": 0}}, "正确点数至少为 1。"),
            ({"method": "guess"}, "未知的退补计算方法。"),
        ],
    )
    def test_with_a_chinese_reason_and_nothing_written(
        self, city, group, billing, history, overrides, message
    ):
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(billing, group, **overrides)

        assert str(refused.value) == message
        assert state() == before

    def test_a_register_that_went_down_over_the_period(self, city, group, billing, history):
        MeterReading.objects.filter(group=group, reading_date=JULY).update(forward_total=0)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(billing, group)

        assert str(refused.value) == (
            "退补期间 2026-06-01 至 2026-07-01 的参考表示数差为 -684.00 kWh（示数下降，"
            "可能换表或清零），请按换表前后分段计算。"
        )
        assert state() == before


class TestOnlyBillingStaffOfTheGroupsUnitHandleMoney:
    def test_another_units_billing_staff_cannot_compute(self, city, group, north_billing, history):
        before = state()

        with pytest.raises(ActionNotAllowed) as refused:
            compute(north_billing, group)

        assert str(refused.value) == "您只能为本单位及下属单位办理电费业务。"
        assert state() == before

    def test_a_clerk_cannot_compute(self, city, group, history):
        before = state()

        with pytest.raises(ActionNotAllowed) as refused:
            compute(city.south_clerk, group)

        assert str(refused.value) == "只有电费人员可以执行此操作。"
        assert state() == before

    def test_another_units_billing_staff_cannot_approve(
        self, city, group, billing, north_billing, history
    ):
        item = compute(billing, group)
        before = state()

        with pytest.raises(ActionNotAllowed) as refused:
            back_billing_approve(actor=north_billing, back_billing_id=item.pk, now=NOW)

        assert str(refused.value) == "您只能为本单位及下属单位办理电费业务。"
        assert state() == before

    def test_another_units_billing_staff_cannot_withdraw(
        self, city, group, billing, north_billing, history
    ):
        item = compute(billing, group)
        before = state()

        with pytest.raises(ActionNotAllowed) as refused:
            back_billing_withdraw(
                actor=north_billing, back_billing_id=item.pk, reason="算错了", now=NOW
            )

        assert str(refused.value) == "您只能为本单位及下属单位办理电费业务。"
        assert state() == before

    def test_the_computer_cannot_approve_even_as_superuser(self, city, group, history):
        boss = factories.user(unit=city.south, role=Role.BILLING, username="boss")
        boss.is_superuser = True
        boss.save(update_fields=["is_superuser"])
        item = compute(boss, group)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            back_billing_approve(actor=boss, back_billing_id=item.pk, now=NOW)

        assert str(refused.value) == "退补须由计算人以外的电费人员审批。"
        assert state() == before

    def test_billing_staff_of_the_company_above_may_approve(self, city, group, billing, history):
        company_billing = factories.user(unit=city.company, role=Role.BILLING, username="co")
        item = compute(billing, group)

        adjustment = back_billing_approve(actor=company_billing, back_billing_id=item.pk, now=NOW)

        item.refresh_from_db()
        assert (item.status, item.approved_by, adjustment.amount) == (
            "approved",
            company_billing,
            Decimal("39.48"),
        )


class TestOneBackBillingPerCaseAtATime:
    def test_a_second_one_for_the_same_case_is_refused_naming_the_first(
        self, city, group, billing, history
    ):
        case = open_case(city, group)
        first = compute(billing, group, case_id=case.pk)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(billing, group, case_id=case.pk, method="rated")

        assert str(refused.value) == (
            f"该异常已有退补记录 {first.pk} 号（待审批，金额 39.48 元，测试电费人员 "
            "2026-07-02 10:00 计算）；须先撤回它才能重新计算。"
        )
        assert state() == before

    def test_after_withdrawal_a_new_one_may_be_computed_and_both_are_kept(
        self, city, group, billing, history
    ):
        case = open_case(city, group)
        first = compute(billing, group, case_id=case.pk)
        back_billing_withdraw(actor=billing, back_billing_id=first.pk, reason="点数核错", now=NOW)

        second = compute(billing, group, case_id=case.pk, method="rated")

        assert list(
            BackBilling.objects.filter(case=case)
            .order_by("pk")
            .values_list("pk", "status", "withdrawal_reason")
        ) == [(first.pk, "withdrawn", "点数核错"), (second.pk, "draft", "")]

    def test_the_database_holds_it_when_two_arrive_together(
        self, city, group, billing, history, monkeypatch
    ):
        case = open_case(city, group)
        first = compute(billing, group, case_id=case.pk)
        real = back_billing_module._current_for_case
        calls = []

        def blind_the_first_time(case_id):
            calls.append(case_id)
            return None if len(calls) == 1 else real(case_id)

        monkeypatch.setattr(back_billing_module, "_current_for_case", blind_the_first_time)
        # Blind to the same days too, so that only the database constraint stands in the way.
        monkeypatch.setattr(back_billing_module, "_overlapping", lambda *args: None)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(billing, group, case_id=case.pk, method="rated")

        assert str(refused.value).startswith(f"该异常已有退补记录 {first.pk} 号（待审批")
        assert state() == before

    def test_the_case_must_be_the_groups(self, city, group, billing, history):
        other = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place,
            active_from=dt.date(2026, 1, 1),
        )  # fmt: skip
        case = open_case(city, other)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            compute(billing, group, case_id=case.pk)

        assert str(refused.value) == "该异常不属于这个群组。"
        assert state() == before


class TestWithdrawal:
    def test_keeps_the_record_with_who_when_and_why_and_is_audited(
        self, city, group, billing, second_billing, history
    ):
        item = compute(billing, group)
        later = NOW + dt.timedelta(hours=1)

        back_billing_withdraw(
            actor=second_billing, back_billing_id=item.pk, reason="  点数核错 ", now=later
        )

        item.refresh_from_db()
        assert (item.status, item.withdrawn_by, item.withdrawn_at, item.withdrawal_reason) == (
            "withdrawn",
            second_billing,
            later,
            "点数核错",
        )
        entry = AuditEntry.objects.get(action="back_billing.withdraw")
        assert (entry.actor, entry.reason, entry.subject_id, entry.before, entry.after) == (
            second_billing,
            "点数核错",
            group.pk,
            {"back_billing": item.pk, "status": "draft"},
            {"back_billing": item.pk, "status": "withdrawn"},
        )
        assert BillAdjustment.objects.count() == 0

    def test_needs_a_reason(self, city, group, billing, history):
        item = compute(billing, group)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            back_billing_withdraw(actor=billing, back_billing_id=item.pk, reason="  ", now=NOW)

        assert str(refused.value) == "请填写撤回原因。"
        assert state() == before

    def test_an_approved_one_is_final(self, city, group, billing, second_billing, history):
        item = compute(billing, group)
        back_billing_approve(actor=second_billing, back_billing_id=item.pk, now=NOW)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            back_billing_withdraw(actor=billing, back_billing_id=item.pk, reason="算错", now=NOW)

        assert str(refused.value) == "已审批的退补不能撤回。"
        assert state() == before

    def test_a_withdrawn_one_cannot_be_approved(
        self, city, group, billing, second_billing, history
    ):
        item = compute(billing, group)
        back_billing_withdraw(actor=billing, back_billing_id=item.pk, reason="算错", now=NOW)
        before = state()

        with pytest.raises(UnableToBill) as refused:
            back_billing_approve(actor=second_billing, back_billing_id=item.pk, now=NOW)

        assert str(refused.value) == "该退补已撤回，不能审批。"
        assert state() == before


class TestTheSameDaysAreBackBilledOnce:
    def test_a_second_back_billing_over_some_of_the_same_days_is_refused(
        self, city, group, billing, history
    ):
        first = compute(billing, group, case_id=open_case(city, group).pk)
        other_case = anomaly_case_open_by_hand(
            actor=city.south_admin, group_id=group.pk, kind="zero", since=dt.date(2026, 6, 20),
            note="同一块表的另一个异常", now=NOW,
        )  # fmt: skip
        before = state()

        with pytest.raises(BackBillingOverlaps) as refused:
            compute(billing, group, case_id=other_case.pk, period_start=dt.date(2026, 6, 20))

        assert str(refused.value) == (
            f"该群组已有退补记录 {first.pk} 号（待审批，2026-06-01 至 2026-07-01，金额 39.48 元）"
            "覆盖了部分相同的日子；同一天的电量不能退补两次。请调整退补期间，或先撤回该记录。"
        )
        assert state() == before

    def test_adjacent_periods_are_both_accepted(self, city, group, billing, history):
        compute(billing, group, period_start=dt.date(2026, 5, 1), period_end=JUNE)

        compute(billing, group)

        assert BackBilling.objects.count() == 2


class TestPostingOnTheNextBill:
    def test_an_older_month_recomputed_later_does_not_take_the_adjustment(
        self, city, group, billing, second_billing, history
    ):
        item = compute(billing, group, parameters={"correct_points": 4})
        back_billing_approve(
            actor=second_billing, back_billing_id=item.pk,
            now=dt.datetime(2026, 8, 10, tzinfo=dt.UTC),
        )  # fmt: skip
        factories.readings(group, dt.date(2026, 7, 3), [Decimal(700)] * 60)

        billing_run(actor=billing, period="2026-06", now=dt.datetime(2026, 9, 2, tzinfo=dt.UTC))
        billing_run(actor=billing, period="2026-07", now=dt.datetime(2026, 9, 2, tzinfo=dt.UTC))

        # Approved in August: not on June's bill (two months back), but on July's, the month
        # being billed when it was approved.
        adjustment = BillAdjustment.objects.get()
        assert (adjustment.bill.period_start, adjustment.amount) == (
            dt.date(2026, 7, 1),
            Decimal("19.74"),
        )
        june = Bill.objects.get(period_start=JUNE)
        assert june.adjustment_amount == Decimal("0.00")
