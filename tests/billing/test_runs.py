"""Billing runs: per supply unit, only for months that have ended, closed on purpose, and
bills that keep their identity while the month is open."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from refmeter.audit.models import AuditEntry
from refmeter.billing.models import Bill, BillingRun, BillRevision, BillStatus, RunStatus
from refmeter.billing.selectors.runs import run_get, visible_bills
from refmeter.billing.services import (
    UnableToBill,
    billing_run,
    billing_run_close,
    tariff_create,
)
from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.readings.models import MeterReading
from refmeter.registry.models import GroupTerms, PointKind
from refmeter.registry.services import UnableToUpdateGroup, group_update
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
JUNE = dt.date(2026, 6, 1)


def june_readings(group, values=None):
    """1000.00 on 1 June rising 3 kWh a day: 1090.00 on 1 July."""
    factories.readings(group, JUNE, values or [Decimal(1000) + 3 * day for day in range(31)])


@pytest.fixture
def north_group(city, group):
    """A 城北 group of 2 points on the same tariff, with June readings."""
    created = factories.group(
        actor=city.north_admin, unit=city.north, place=city.north_place, sub_accounts=1,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    factories.group_terms(created, actor=city.north_admin, tariff_code="LV-NONRES")
    june_readings(created)
    return created


@pytest.fixture
def company_billing(city):
    return factories.user(unit=city.company, role=Role.BILLING, username="company_biller")


def nothing_written():
    return (BillingRun.objects.count(), Bill.objects.count()) == (0, 0)


class TestThePeriod:
    @pytest.mark.parametrize(
        ("period", "message"),
        [
            ("2026-13", "账期“2026-13”的月份应在 01 到 12 之间。"),
            ("abc", "账期“abc”格式不正确，应为 YYYY-MM，例如 2026-10。"),
            ("", "账期“”格式不正确，应为 YYYY-MM，例如 2026-10。"),
            ("2026-07", "2026-07 尚未结束：只能为已经结束的月份出账（月末须早于今天）。"),
            ("2027-01", "2027-01 尚未结束：只能为已经结束的月份出账（月末须早于今天）。"),
            ("2026-05", "2026-05 早于系统的第一条日冻结读数（2026-06-01），无法出账。"),
        ],
    )
    def test_a_month_that_cannot_be_billed_is_refused_in_chinese(
        self, group, billing, period, message
    ):
        june_readings(group)

        with pytest.raises(UnableToBill) as refusal:
            billing_run(actor=billing, period=period, now=NOW)

        assert str(refusal.value) == message
        assert nothing_written()

    def test_without_any_reading_nothing_can_be_billed(self, group, billing):
        with pytest.raises(UnableToBill) as refusal:
            billing_run(actor=billing, period="2026-06", now=NOW)

        assert str(refusal.value) == "系统中还没有任何日冻结读数，无法出账。"
        assert nothing_written()

    def test_the_command_line_refuses_with_the_same_message(self, group):
        june_readings(group)

        with pytest.raises(CommandError) as refusal:
            call_command("bill", "--period", "2026-13")

        assert str(refusal.value) == "账期“2026-13”的月份应在 01 到 12 之间。"
        assert nothing_written()


class TestBillingPerUnit:
    def test_a_service_area_bills_only_its_own_groups(self, city, group, north_group, billing):
        june_readings(group)

        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        run = BillingRun.objects.get()
        assert (run.unit, result.bills) == (city.south, 1)
        assert list(Bill.objects.values_list("group_id", flat=True)) == [group.pk]

    def test_the_company_bills_as_one_run_per_service_area(
        self, city, group, north_group, company_billing
    ):
        june_readings(group)

        results = billing_run(actor=company_billing, period="2026-06", now=NOW)

        assert [(r.unit, r.bills) for r in results] == [("单位3350101", 1), ("单位3350102", 1)]
        assert sorted(BillingRun.objects.values_list("unit__code", flat=True)) == [
            "3350101",
            "3350102",
        ]

    def test_a_run_lists_only_its_own_units_problems(self, city, group, north_group, billing):
        june_readings(group)
        MeterReading.objects.filter(group=north_group, reading_date=dt.date(2026, 7, 1)).delete()

        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        assert result.problems == []

    def test_other_units_do_not_see_the_run_or_its_bills(
        self, city, group, north_group, billing, north_billing
    ):
        june_readings(group)
        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        assert run_get(user=north_billing, run_id=result.run_id) is None
        assert list(visible_bills(user=north_billing)) == []

    def test_a_north_user_cannot_close_the_south_month(
        self, city, group, north_group, billing, north_billing
    ):
        june_readings(group)
        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        with pytest.raises(UnableToBill) as refusal:
            billing_run_close(actor=north_billing, run_id=result.run_id, now=NOW)

        assert str(refusal.value) == "没有这个账期，或它不属于您的单位。"
        assert BillingRun.objects.get(pk=result.run_id).status == RunStatus.OPEN

    def test_two_units_bill_and_close_the_same_month_independently(
        self, city, group, north_group, billing, north_billing
    ):
        june_readings(group)
        [south] = billing_run(actor=billing, period="2026-06", now=NOW)
        billing_run_close(actor=billing, run_id=south.run_id, now=NOW)

        [north] = billing_run(actor=north_billing, period="2026-06", now=NOW)
        MeterReading.objects.filter(group=north_group, reading_date=dt.date(2026, 7, 1)).update(
            forward_total=Decimal("1120.00")
        )
        [north_again] = billing_run(actor=north_billing, period="2026-06", now=NOW)
        billing_run_close(actor=north_billing, run_id=north.run_id, now=NOW)

        assert (south.unit, north.unit) == ("单位3350101", "单位3350102")
        # 城北 recomputed its open month (120 kWh x 2 points) while 城南's stayed closed.
        assert (north_again.unchanged, north_again.total_energy) == (False, Decimal("240.00"))
        assert dict(BillingRun.objects.values_list("unit__code", "status")) == {
            "3350101": "closed",
            "3350102": "closed",
        }

    def test_only_billing_staff_close_a_month(self, city, group, billing):
        june_readings(group)
        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        with pytest.raises(ActionNotAllowed):
            billing_run_close(actor=city.south_clerk, run_id=result.run_id, now=NOW)

        assert BillingRun.objects.get().status == RunStatus.OPEN


class TestClosingAMonth:
    def test_a_month_with_an_unbilled_group_is_not_closed_without_consent(
        self, city, group, billing
    ):
        june_readings(group)
        other = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        factories.group_terms(other, actor=city.south_admin, tariff_code="LV-NONRES")
        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        with pytest.raises(UnableToBill) as refusal:
            billing_run_close(actor=billing, run_id=result.run_id, now=NOW)
        closed = billing_run_close(
            actor=billing, run_id=result.run_id, now=NOW, allow_unbilled=True
        )

        assert str(refusal.value) == (
            "单位3350101 2026-06 还有 1 户未出账，不能关账：请先处理，或确认允许未出账户关账。"
        )
        assert (closed.status, closed.bills, closed.unbilled) == ("closed", 1, 1)
        assert AuditEntry.objects.filter(action="billing.close").count() == 1

    def test_a_closed_month_cannot_be_closed_again(self, group, billing):
        june_readings(group)
        [result] = billing_run(actor=billing, period="2026-06", now=NOW)
        billing_run_close(actor=billing, run_id=result.run_id, now=NOW)

        with pytest.raises(UnableToBill) as refusal:
            billing_run_close(actor=billing, run_id=result.run_id, now=NOW)

        assert str(refusal.value) == "单位3350101 2026-06 已经关账。"

    def test_the_command_line_refuses_to_close_with_unbilled_groups(self, city, group):
        june_readings(group)
        other = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        base = other.points.get(kind=PointKind.BASE).account_number

        with pytest.raises(CommandError) as refusal:
            call_command("bill", "--period", "2026-06", "--close")

        assert str(refusal.value).splitlines() == [
            "单位3350101 2026-06 还有 1 户未出账，未关账（处理后重试，或加 --allow-unbilled 确认关账）。",
            f"{base}：电价代码“—”在 2026-06-01 至 2026-07-01 没有完整的电价，未出账。",
        ]
        assert BillingRun.objects.get().status == RunStatus.OPEN

    def test_the_command_line_closes_with_allow_unbilled(self, city, group, capsys):
        june_readings(group)
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                        active_from=dt.date(2026, 1, 1))  # fmt: skip

        call_command("bill", "--period", "2026-06", "--close", "--allow-unbilled",
                     "--format", "json")  # fmt: skip

        output = json.loads(capsys.readouterr().out)
        assert [(run["status"], run["bills"], run["unbilled"]) for run in output["runs"]] == [
            ("closed", 1, 1)
        ]

    def test_the_command_line_acts_as_a_user_for_their_unit_only(
        self, city, group, north_group, billing, capsys
    ):
        june_readings(group)

        call_command("bill", "--period", "2026-06", "--user", "biller", "--format", "json")

        output = json.loads(capsys.readouterr().out)
        assert [(run["unit"], run["bills"]) for run in output["runs"]] == [("单位3350101", 1)]


class TestBillIdentity:
    def test_recomputing_an_open_month_updates_the_same_bill_and_keeps_a_revision(
        self, group, billing
    ):
        june_readings(group)
        billing_run(actor=billing, period="2026-06", now=NOW)
        first = Bill.objects.get()
        MeterReading.objects.filter(reading_date=dt.date(2026, 7, 1)).update(
            forward_total=Decimal("1120.00")
        )

        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        assert (bill.pk, bill.number, bill.revision) == (first.pk, first.number, 2)
        assert bill.number == f"DF202606-{bill.base_account_number}"
        # 120 kWh x 3 points now; 90 kWh x 3 points before
        assert bill.billed_energy == Decimal("360.00")
        revision = BillRevision.objects.get()
        assert (revision.revision, revision.figures["billed_energy"]) == (1, "270.00")

    def test_recomputing_with_the_same_figures_makes_no_revision(self, group, billing):
        june_readings(group)
        billing_run(actor=billing, period="2026-06", now=NOW)

        billing_run(actor=billing, period="2026-06", now=NOW)

        assert Bill.objects.get().revision == 1
        assert BillRevision.objects.count() == 0

    def test_a_bill_whose_group_became_unbilled_is_withdrawn_not_deleted(self, group, billing):
        june_readings(group)
        billing_run(actor=billing, period="2026-06", now=NOW)
        MeterReading.objects.filter(reading_date=dt.date(2026, 7, 1)).delete()

        [result] = billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        assert (bill.status, bill.revision) == (BillStatus.WITHDRAWN, 2)
        assert (result.bills, result.unbilled) == (0, 1)


class TestEffectiveDatedTerms:
    def test_a_ct_ratio_change_bills_the_days_before_it_with_the_old_ratio(
        self, city, group, billing
    ):
        june_readings(group)
        billing_run(actor=billing, period="2026-06", now=NOW)

        factories.group_terms(group, actor=city.south_admin, from_date=dt.date(2026, 6, 16),
                              ct_ratio=5)  # fmt: skip
        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # 1-16 June: 45 kWh x 1 x 45 / 15 = 135.00; 16 June-1 July: 45 x 5 x 45 / 15 = 675.00
        assert [(s["ct_ratio"], s["billed_energy"]) for s in bill.segments] == [
            (1, "135.00"),
            (5, "675.00"),
        ]
        assert (bill.billed_energy, bill.ct_ratio, bill.revision) == (Decimal("810.00"), 5, 2)
        assert list(
            GroupTerms.objects.filter(group=group).values_list("from_date", "ct_ratio")
        ) == [
            (dt.date(2026, 1, 1), 1),
            (dt.date(2026, 6, 16), 5),
        ]

    def test_a_tariff_code_change_bills_the_days_before_it_at_the_old_price(
        self, city, group, billing
    ):
        tariff_create(code="LV-B", name="调整", effective_from=dt.date(2020, 1, 1),
                      price=Decimal("1.0000"))  # fmt: skip
        june_readings(group)
        factories.group_terms(group, actor=city.south_admin, from_date=dt.date(2026, 6, 11),
                              tariff_code="LV-B")  # fmt: skip

        billing_run(actor=billing, period="2026-06", now=NOW)

        bill = Bill.objects.get()
        # 1-11 June: 90.00 kWh x 0.6580 = 59.22; 11 June-1 July: 180.00 kWh x 1.0000
        assert [(s["tariff"], s["billed_energy"], s["amount"]) for s in bill.segments] == [
            ("LV-NONRES", "90.00", "59.22"),
            ("LV-B", "180.00", "180.00"),
        ]

    def test_a_ct_ratio_change_needs_its_date(self, city, group):
        with pytest.raises(UnableToUpdateGroup) as refusal:
            group_update(actor=city.south_admin, group_id=group.pk, now=NOW, reason="换表",
                         ct_ratio=5)  # fmt: skip

        assert refusal.value.problems == ["变更互感器倍率或电价代码须填写执行日期。"]
        assert GroupTerms.objects.filter(group=group).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
class TestConcurrentCloses:
    def run_at_once(self, *calls):
        outcomes: list[object] = [None] * len(calls)
        barrier = threading.Barrier(len(calls))

        def work(index, call):
            from django.db import connections

            try:
                barrier.wait()
                outcomes[index] = call()
            except Exception as error:
                outcomes[index] = error
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work, args=item) for item in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outcomes

    def test_two_units_close_the_same_month_at_once(
        self, city, group, north_group, billing, north_billing
    ):
        june_readings(group)
        [south] = billing_run(actor=billing, period="2026-06", now=NOW)
        [north] = billing_run(actor=north_billing, period="2026-06", now=NOW)

        outcomes = self.run_at_once(
            lambda: billing_run_close(actor=billing, run_id=south.run_id, now=NOW),
            lambda: billing_run_close(actor=north_billing, run_id=north.run_id, now=NOW),
        )

        assert [getattr(outcome, "status", outcome) for outcome in outcomes] == [
            "closed",
            "closed",
        ]

    def test_the_same_month_closed_twice_at_once_closes_once(self, group, billing):
        june_readings(group)
        second = factories.user(unit=group.unit, role=Role.BILLING, username="second")
        [south] = billing_run(actor=billing, period="2026-06", now=NOW)

        outcomes = self.run_at_once(
            lambda: billing_run_close(actor=billing, run_id=south.run_id, now=NOW),
            lambda: billing_run_close(actor=second, run_id=south.run_id, now=NOW),
        )

        refusals = [str(o) for o in outcomes if isinstance(o, UnableToBill)]
        assert refusals == ["单位3350101 2026-06 已经关账。"]
        assert AuditEntry.objects.filter(action="billing.close").count() == 1
