"""Bills checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from refmeter.billing.models import Bill, BillKind
from refmeter.billing.services import billing_run, billing_run_close, tariff_create
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.readings.models import MeterReading
from refmeter.registry.models import PointKind
from refmeter.registry.services import PointInput, group_close, sub_account_cancel, sub_accounts_add
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
JUNE = dt.date(2026, 6, 1)


def add_point(city, group, day):
    return sub_accounts_add(
        actor=city.south_admin, group_id=group.pk,
        points=[PointInput(name="新点位", device_address="城南", access_point_number=city.south_place.number,
                           active_from_date=day)],
        now=NOW,
    )[0]  # fmt: skip


def close_month(actor, **options):
    """Bill June and close every unit's month that the actor billed."""
    results = billing_run(actor=actor, period="2026-06", now=NOW)
    return [
        result
        if result.unchanged
        else billing_run_close(actor=actor, run_id=result.run_id, now=NOW, **options)
        for result in results
    ]


def june_readings(group, values=None):
    """1000.00 on 1 June rising 3 kWh a day: 1090.00 on 1 July."""
    factories.readings(group, JUNE, values or [Decimal(1000) + 3 * day for day in range(31)])


class TestMonthlyBill:
    def test_a_point_added_on_the_20th_counts_11_of_30_days(self, city, group, billing):
        add_point(city, group, dt.date(2026, 6, 20))
        june_readings(group)

        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # 90 kWh x (3 points x 30 days + 11 point-days) / 30 days = 303.00 kWh; x 0.6580 = 199.37
        assert (bill.reference_energy, bill.point_days, bill.days) == (Decimal("90.00"), 101, 30)
        assert bill.billed_energy == Decimal("303.00")
        assert bill.energy_amount == Decimal("199.37")
        assert bill.multiplier_spans == [
            {"from": "2026-06-01", "to": "2026-06-20", "multiplier": 3},
            {"from": "2026-06-20", "to": "2026-07-01", "multiplier": 4},
        ]
        assert sorted(bill.points.values_list("active_days", "energy")) == [
            (11, Decimal("33.00")),
            (30, Decimal("90.00")),
            (30, Decimal("90.00")),
            (30, Decimal("90.00")),
        ]
        assert (result.bills, result.total_amount) == (1, Decimal("199.37"))

    def test_a_point_cancelled_mid_month_counts_up_to_its_end(self, city, group, billing):
        leaving = group.points.filter(kind=PointKind.SUB).first()
        sub_account_cancel(actor=city.south_admin, point_id=leaving.pk,
                           active_to_date=dt.date(2026, 6, 11), now=NOW)  # fmt: skip
        june_readings(group)

        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # 2 x 30 + 10 = 70 point-days; 90 x 70 / 30 = 210.00 kWh; x 0.6580 = 138.18
        assert (bill.point_days, bill.billed_energy, bill.energy_amount) == (
            70,
            Decimal("210.00"),
            Decimal("138.18"),
        )

    def test_a_tariff_change_mid_month_splits_the_bill(self, city, group, billing):
        tariff_create(code="LV-NONRES", name="调价", effective_from=dt.date(2026, 6, 16),
                      price=Decimal("0.7000"))  # fmt: skip
        june_readings(group, [Decimal(1000) + 2 * day for day in range(15)]
                      + [Decimal(1030) + 4 * day for day in range(16)])  # fmt: skip

        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # 1-16 June: 30 kWh x 45/15 = 90.00 kWh x 0.6580 = 59.22
        # 16 June-1 July: 60 kWh x 45/15 = 180.00 kWh x 0.7000 = 126.00
        assert [(s["billed_energy"], s["amount"]) for s in bill.segments] == [
            ("90.00", "59.22"),
            ("180.00", "126.00"),
        ]
        assert (bill.billed_energy, bill.energy_amount) == (Decimal("270.00"), Decimal("185.22"))

    def test_a_time_of_use_tariff_prices_each_register(self, city, group, billing):
        tariff_create(code="LV-TOU", name="分时", effective_from=dt.date(2020, 1, 1),
                      time_of_use={"sharp": Decimal("1.0"), "peak": Decimal("0.8"),
                                   "flat": Decimal("0.6"), "valley": Decimal("0.3")})  # fmt: skip
        factories.group_terms(group, actor=city.south_admin, tariff_code="LV-TOU")
        days = range(31)
        factories.readings(
            group, JUNE, [Decimal(1000) + 3 * d for d in days],
            registers={"sharp": [Decimal(100) + Decimal("0.5") * d for d in days],
                       "peak": [Decimal(300) + 1 * d for d in days],
                       "flat": [Decimal(400) + 1 * d for d in days],
                       "valley": [Decimal(200) + Decimal("0.5") * d for d in days]},
        )  # fmt: skip

        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # registers x 3 points: sharp 45 x 1.0 + peak 90 x 0.8 + flat 90 x 0.6 + valley 45 x 0.3
        assert bill.segments[0]["registers"] == {
            "sharp": "45.00",
            "peak": "90.00",
            "flat": "90.00",
            "valley": "45.00",
        }
        assert (bill.billed_energy, bill.energy_amount) == (Decimal("270.00"), Decimal("184.50"))

    def test_a_closure_produces_the_final_bill_up_to_the_closure_date(self, city, group, billing):
        june_readings(group)
        group_close(actor=city.south_admin, group_id=group.pk, closure_date=dt.date(2026, 6, 21),
                    now=NOW, work_order="GD1")  # fmt: skip

        close_month(billing)

        bill = Bill.objects.get()
        # 1-21 June: 60 kWh x 3 points = 180.00 kWh; x 0.6580 = 118.44
        assert (bill.kind, bill.period_end, bill.days) == (BillKind.FINAL, dt.date(2026, 6, 21), 20)
        assert (bill.billed_energy, bill.energy_amount) == (Decimal("180.00"), Decimal("118.44"))
        assert group.final_bill_request.__class__.objects.get(group=group).billed_at == NOW

    def test_a_missing_boundary_reading_leaves_the_group_unbilled_and_says_why(
        self, city, group, billing
    ):
        june_readings(group)
        MeterReading.objects.filter(reading_date=dt.date(2026, 7, 1)).delete()
        base = group.points.get(kind=PointKind.BASE).account_number

        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        assert result.bills == 0
        assert result.problems == [
            {
                "account_number": base,
                "reason": "missing_reading",
                "message": f"{base}：缺少 2026-07-01 的日冻结读数，未出账。",
            }
        ]


class TestRuns:
    def test_rerunning_a_closed_month_changes_nothing(self, city, group, billing):
        june_readings(group)
        close_month(billing)
        first = list(Bill.objects.values_list("pk", "billed_energy", "total_amount"))
        MeterReading.objects.filter(reading_date=dt.date(2026, 7, 1)).update(
            forward_total=Decimal("2000")
        )

        [again] = close_month(billing)

        assert again.unchanged is True
        assert list(Bill.objects.values_list("pk", "billed_energy", "total_amount")) == first

    def test_only_billing_staff_run_bills(self, city, group):
        with pytest.raises(ActionNotAllowed):
            billing_run(actor=city.south_clerk, period="2026-06", now=NOW)

        assert Bill.objects.count() == 0


class TestTimeOfUseBalance:
    """The billed energy comes from the total register; 平 is the balance of the others."""

    @pytest.fixture
    def tou(self, city, group):
        tariff_create(code="LV-TOU", name="分时", effective_from=dt.date(2020, 1, 1),
                      time_of_use={"sharp": Decimal("1.0"), "peak": Decimal("0.8"),
                                   "flat": Decimal("0.6"), "valley": Decimal("0.3")})  # fmt: skip
        return factories.group_terms(group, actor=city.south_admin, tariff_code="LV-TOU")

    @staticmethod
    def registers(group, start, days, total, sharp, peak, flat, valley):
        """Readings rising evenly to the given month's differences."""
        steps = range(days + 1)
        factories.readings(
            group, start, [Decimal(1000) + total * d / days for d in steps],
            registers={"sharp": [Decimal(100) + sharp * d / days for d in steps],
                       "peak": [Decimal(200) + peak * d / days for d in steps],
                       "flat": [Decimal(300) + flat * d / days for d in steps],
                       "valley": [Decimal(400) + valley * d / days for d in steps]},
        )  # fmt: skip

    def test_registers_lagging_the_total_still_bill_the_total(self, city, tou, billing):
        # 4 points x CT 22 over 31 days of July: 157.98 kWh x 2,728 point-days / 31 days.
        factories.group_terms(tou, actor=city.south_admin, ct_ratio=22)
        add_point(city, tou, dt.date(2026, 1, 1))
        self.registers(tou, dt.date(2026, 7, 1), 31, Decimal("157.98"), Decimal("20.00"),
                       Decimal("50.00"), Decimal("46.98"), Decimal("40.00"))  # fmt: skip

        billing_run(actor=billing, period="2026-07", now=dt.datetime(2026, 8, 3, tzinfo=dt.UTC))

        bill = Bill.objects.get()
        # 157.98 x 2,728 / 31 = 13,902.24 (the parts alone would make 156.98 x 88 = 13,814.24)
        assert (bill.point_days, bill.ct_ratio, bill.billed_energy) == (
            124,
            22,
            Decimal("13902.24"),
        )
        # 尖 20 x 88 = 1,760.00; 峰 4,400.00; 谷 3,520.00; 平 = 13,902.24 - 9,680.00 = 4,222.24
        assert bill.segments[0]["registers"] == {
            "sharp": "1760.00",
            "peak": "4400.00",
            "flat": "4222.24",
            "valley": "3520.00",
        }
        # 1,760.00 + 3,520.00 + 2,533.34 + 1,056.00
        assert bill.energy_amount == Decimal("8869.34")

    def test_parts_rounded_on_their_own_do_not_change_the_billed_total(self, city, tou, billing):
        # 3 points all June and one from the 20th: 101 point-days / 30 days.
        add_point(city, tou, dt.date(2026, 6, 20))
        self.registers(tou, JUNE, 30, Decimal("10.00"), Decimal("2.00"), Decimal("2.00"),
                       Decimal("3.00"), Decimal("3.00"))  # fmt: skip

        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # 10.00 x 101 / 30 = 33.666... -> 33.67 (each part rounded alone would sum to 33.66)
        # 尖 2 x 101/30 = 6.73; 尖+峰 13.47 -> 峰 6.74; 尖+峰+谷 23.57 -> 谷 10.10; 平 10.10
        assert bill.billed_energy == Decimal("33.67")
        assert bill.segments[0]["registers"] == {
            "sharp": "6.73",
            "peak": "6.74",
            "flat": "10.10",
            "valley": "10.10",
        }
        assert sum(Decimal(v) for v in bill.segments[0]["registers"].values()) == Decimal("33.67")

    def test_the_single_rate_bill_rounds_once(self, city, group, billing):
        # 107.50 kWh x 101 point-days / 30 days = 361.9083... -> 361.92
        add_point(city, group, dt.date(2026, 6, 20))
        factories.readings(group, JUNE, [Decimal("1000.00")] * 30 + [Decimal("1107.50")])

        billing_run(actor=billing, period="2026-06", now=NOW)

        assert Bill.objects.get().billed_energy == Decimal("361.92")

    def test_registers_exceeding_the_total_are_not_billed(self, city, tou, billing):
        self.registers(tou, JUNE, 30, Decimal("90.00"), Decimal("30.00"), Decimal("30.00"),
                       Decimal("0.00"), Decimal("30.01"))  # fmt: skip
        base = tou.points.get(kind=PointKind.BASE).account_number

        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        assert Bill.objects.count() == 0
        assert result.problems == [
            {
                "account_number": base,
                "reason": "unbalanced",
                "message": f"{base}：2026-06-01 至 2026-07-01 尖峰谷示数之和 90.01 kWh 超过总示数 "
                "90.00 kWh，示值不平，未出账。",
            }
        ]
