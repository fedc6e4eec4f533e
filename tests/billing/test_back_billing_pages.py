"""The back-billing pages: compute from a case (with the sanity-bound confirmation),
the record, approval and withdrawal, and the list of the unit's back-billings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase
from refmeter.anomalies.services import anomalies_scan, anomaly_case_open_by_hand
from refmeter.audit.models import AuditEntry
from refmeter.billing.models import BackBilling
from refmeter.billing.services import (
    back_billing_approve,
    back_billing_compute,
    back_billing_withdraw,
    billing_run,
)
from refmeter.organisations.models import Role
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
JUNE = dt.date(2026, 6, 1)
JULY = dt.date(2026, 7, 1)
# the session, the user, the user's unit (for the scope), the count, the page of rows
QUERIES = 5


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def june(group):
    factories.readings(group, JUNE, [Decimal(1000) + 3 * d for d in range(31)])
    return group


@pytest.fixture
def stuck(june):
    """The register stays at 1090.00 from 1 July: a stopped-meter case."""
    factories.readings(june, JULY + dt.timedelta(days=1), [1090] * 5)
    anomalies_scan(as_of=dt.date(2026, 7, 6), now=NOW)
    return AnomalyCase.objects.get(kind="stopped")


def rated_june(case):
    return {
        "case": case.pk, "method": "rated", "period_start": "2026-06-01",
        "period_end": "2026-07-01",
    }  # fmt: skip


def state():
    return (
        list(BackBilling.objects.order_by("pk").values_list("pk", "status", "amount")),
        AuditEntry.objects.filter(action__startswith="back_billing").count(),
    )


class TestComputingFromACase:
    def test_over_the_bound_it_is_previewed_then_confirmed_shown_and_approved(
        self, client, city, stuck
    ):
        computer = factories.user(unit=city.south, role=Role.BILLING, username="b1")
        approver = factories.user(unit=city.south, role=Role.BILLING, username="b2")
        client.force_login(computer)

        held = client.post(reverse("billing:back_billing_new"), rated_june(stuck))
        nothing_yet = BackBilling.objects.count()
        response = client.post(
            reverse("billing:back_billing_new"),
            {**rated_june(stuck), "confirm_over_bound": "1", "shown_amount": "390.85"},
        )
        item = BackBilling.objects.get()
        page = client.get(response["Location"]).content.decode()
        client.force_login(approver)
        client.post(reverse("billing:back_billing_approve", args=[item.pk]))

        preview = held.content.decode()
        assert held.status_code == 200
        assert nothing_yet == 0
        assert (
            "退补金额 390.85 元超出合理范围：该群组近 12 个月没有有效的电费账单，合理上限为 0.00 元。"
            in preview
        )
        assert "我已核对，确认提交超出合理范围的退补" in preview
        assert "单点日电量 = 额定功率 × 日运行小时 ÷ 1000" in preview
        assert '<span data-testid="sanity-bound">±0.00 元</span>' in page
        assert '<span data-testid="over-bound-confirmed">是（计算人已核对确认）</span>' in page
        assert "单点日电量 = 额定功率 × 日运行小时 ÷ 1000" in page
        item.refresh_from_db()
        # 9.6 kWh x 90 point-days = 864.00 due; 270.00 billed; 594.00 x 0.6580 = 390.85
        assert (item.energy, item.amount, item.status, item.over_bound_confirmed) == (
            Decimal("594.00"),
            Decimal("390.85"),
            "approved",
            True,
        )

    def test_a_confirmation_of_another_amount_is_not_taken(self, client, city, stuck, billing):
        client.force_login(billing)

        response = client.post(
            reverse("billing:back_billing_new"),
            {**rated_june(stuck), "confirm_over_bound": "1", "shown_amount": "100.00"},
        )

        page = response.content.decode()
        assert BackBilling.objects.count() == 0
        assert "计算结果已变化，请重新核对后再确认。" in page
        assert '<input type="hidden" name="shown_amount" value="390.85">' in page

    def test_confirming_without_the_tick_says_so(self, client, city, stuck, billing):
        client.force_login(billing)

        response = client.post(
            reverse("billing:back_billing_new"), {**rated_june(stuck), "shown_amount": "390.85"}
        )

        assert BackBilling.objects.count() == 0
        assert "请先勾选“我已核对”，再确认提交。" in response.content.decode()

    def test_within_the_bound_it_is_written_at_once(self, client, city, stuck, billing):
        billing_run(actor=billing, period="2026-06", now=NOW)
        client.force_login(billing)

        response = client.post(
            reverse("billing:back_billing_new"),
            {**rated_june(stuck), "method": "multiplier", "correct_points": "4"},
        )

        # June: 90 kWh x 3 = 270 kWh, 177.66 yuan; bound 532.98; 90 kWh x 0.658 = 59.22
        item = BackBilling.objects.get()
        assert response["Location"] == reverse("billing:back_billing", args=[item.pk])
        assert (item.amount, item.sanity_bound, item.over_bound_confirmed) == (
            Decimal("59.22"),
            Decimal("532.98"),
            False,
        )

    def test_a_second_one_for_the_case_is_refused_and_the_first_named(
        self, client, city, stuck, billing
    ):
        first = back_billing_compute(
            actor=billing, group_id=stuck.group_id, case_id=stuck.pk, method="rated",
            period_start=JUNE, period_end=JULY, now=NOW, confirm_over_bound=True,
        )  # fmt: skip
        client.force_login(billing)
        before = state()

        form = client.get(reverse("billing:back_billing_new"), {"case": stuck.pk})
        refused = client.post(
            reverse("billing:back_billing_new"), {**rated_june(stuck), "method": "multiplier"}
        )

        assert (
            f"该异常已有退补记录 {first.pk} 号（待审批，金额 390.85 元），撤回后才能重新计算。"
            in form.content.decode()
        )
        assert (
            f"该异常已有退补记录 {first.pk} 号（待审批，金额 390.85 元，测试电费人员 "
            "2026-07-02 10:00 计算）；须先撤回它才能重新计算。" in refused.content.decode()
        )
        assert state() == before

    def test_another_units_billing_staff_cannot_open_the_case(self, client, city, stuck):
        client.force_login(factories.user(unit=city.north, role=Role.BILLING))
        before = state()

        response = client.post(reverse("billing:back_billing_new"), rated_june(stuck))

        assert response.status_code == 404
        assert "未找到该异常，或它不属于您所在单位及下属单位。" in response.content.decode()
        assert state() == before

    def test_the_default_normal_period_is_shown_with_its_days(self, client, city, group, billing):
        values, value, day = [], Decimal(1000), dt.date(2026, 1, 1)
        while day <= JULY:
            values.append(Decimal(0) if day >= dt.date(2026, 5, 10) else value)
            value += 2
            day += dt.timedelta(days=1)
        factories.readings(group, dt.date(2026, 1, 1), values)
        anomalies_scan(as_of=JULY, now=NOW)
        case = AnomalyCase.objects.get(kind="zero")
        client.force_login(billing)

        response = client.post(
            reverse("billing:back_billing_new"),
            {"case": case.pk, "method": "own_history", "period_start": "2026-05-10",
             "period_end": "2026-07-01", "baseline_start": "", "baseline_end": "",
             "confirm_over_bound": "1", "shown_amount": "205.30"},
        )  # fmt: skip
        page = client.get(response["Location"]).content.decode()

        assert (
            "<td>正常期间（自动选取：异常起始日 2026-05-10 之前不含异常的完整月份）</td>"
            "<td>2026-02-01 — 2026-05-01（89 天：2026-02、2026-03、2026-04）</td>"
        ) in page
        assert BackBilling.objects.get().amount == Decimal("205.30")


class TestTheRecordPage:
    @pytest.fixture
    def draft(self, city, stuck, billing):
        return back_billing_compute(
            actor=billing, group_id=stuck.group_id, case_id=stuck.pk, method="rated",
            period_start=JUNE, period_end=JULY, now=NOW, confirm_over_bound=True,
        )  # fmt: skip

    def test_withdrawn_it_shows_who_when_and_why(self, client, city, draft, second_billing):
        client.force_login(second_billing)

        response = client.post(
            reverse("billing:back_billing_withdraw", args=[draft.pk]),
            {"reason": "额定功率取错"},
            follow=True,
        )

        page = response.content.decode()
        assert '<span data-testid="status">已撤回</span>' in page
        assert "已由 测试电费人员 于 2026-07-02 10:00 撤回，原因：额定功率取错" in page
        assert "审批并在下期账单结算" not in page
        draft.refresh_from_db()
        assert (draft.status, draft.withdrawal_reason) == ("withdrawn", "额定功率取错")

    def test_withdrawal_without_a_reason_is_refused(self, client, city, draft, billing):
        client.force_login(billing)
        before = state()

        response = client.post(
            reverse("billing:back_billing_withdraw", args=[draft.pk]), {"reason": ""}, follow=True
        )

        assert "请填写撤回原因。" in response.content.decode()
        assert state() == before

    def test_another_units_billing_staff_cannot_approve_it(self, client, city, draft):
        client.force_login(factories.user(unit=city.north, role=Role.BILLING))
        before = state()

        response = client.post(
            reverse("billing:back_billing_approve", args=[draft.pk]), follow=True
        )

        assert response.status_code == 404
        assert "没有这条退补记录，或它不属于您的单位。" in response.content.decode()
        assert state() == before

    def test_a_clerk_is_refused(self, client, city, draft):
        client.force_login(city.south_clerk)

        response = client.get(reverse("billing:back_billing", args=[draft.pk]))

        assert response.status_code == 403
        assert "只有电费人员和管理人员可以查看退补记录。" in response.content.decode()

    def test_the_case_and_the_group_pages_link_to_their_back_billings(
        self, client, city, draft, billing
    ):
        client.force_login(billing)

        case_page = client.get(reverse("anomalies:case", args=[draft.case_id])).content.decode()
        group_page = client.get(
            reverse("registry:group_detail", args=[draft.group_id])
        ).content.decode()

        assert f'href="/billing/back-billing/?case={draft.case_id}"' in case_page
        assert f'href="/billing/back-billing/new/?case={draft.case_id}"' in case_page
        assert f'href="/billing/back-billing/?group={draft.group_id}"' in group_page


def history(group):
    """March-June: 2 kWh a day, readings 1 March - 1 July."""
    factories.readings(group, dt.date(2026, 3, 1), [Decimal(500) + 2 * d for d in range(123)])


def multiplier(actor, group, *, case=None, start=JUNE, end=JULY):
    return back_billing_compute(
        actor=actor, group_id=group.pk, case_id=case.pk if case else None, method="multiplier",
        period_start=start, period_end=end, now=NOW, parameters={"correct_points": 4},
        confirm_over_bound=True,
    )  # fmt: skip


class TestTheList:
    @pytest.fixture
    def records(self, city, group, billing, second_billing):
        """One back-billing in each state in the south, one draft in the north."""
        history(group)
        posted = multiplier(billing, group, start=dt.date(2026, 4, 1), end=dt.date(2026, 5, 1))
        back_billing_approve(actor=second_billing, back_billing_id=posted.pk, now=NOW)
        billing_run(actor=billing, period="2026-06", now=NOW)
        approved = multiplier(billing, group, start=dt.date(2026, 5, 1), end=JUNE)
        back_billing_approve(actor=second_billing, back_billing_id=approved.pk, now=NOW)
        withdrawn = multiplier(billing, group, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 1))
        back_billing_withdraw(actor=billing, back_billing_id=withdrawn.pk, reason="重复", now=NOW)
        case = anomaly_case_open_by_hand(
            actor=city.south_admin, group_id=group.pk, kind="multiplier", since=JUNE,
            note="现场发现未登记点位", now=NOW,
        )  # fmt: skip
        draft = multiplier(billing, group, case=case)
        north = factories.group(
            actor=city.north_admin, unit=city.north, place=city.north_place,
            active_from=dt.date(2026, 1, 1),
        )  # fmt: skip
        factories.group_terms(north, actor=city.north_admin, tariff_code="LV-NONRES")
        history(north)
        multiplier(factories.user(unit=city.north, role=Role.BILLING), north)
        return {"draft": draft, "approved": approved, "posted": posted, "withdrawn": withdrawn}

    def ids(self, response):
        return [row.back_billing_id for row in response.context["rows"]]

    def test_each_tab_shows_its_own_state_of_the_users_unit_only(
        self, client, city, billing, records
    ):
        client.force_login(billing)
        url = reverse("billing:back_billings")

        tabs = {tab: self.ids(client.get(url, {"status": tab})) for tab in records}
        default = client.get(url)

        assert tabs == {tab: [item.pk] for tab, item in records.items()}
        assert self.ids(default) == [records["draft"].pk]
        assert [row.status_label for row in client.get(url, {"status": "all"}).context["rows"]] == [
            "待审批",
            "已撤回",
            "已审批",
            "已入账",
        ]

    def test_a_row_shows_the_group_case_method_period_figures_and_people(
        self, client, city, group, billing, records
    ):
        client.force_login(billing)

        page = client.get(reverse("billing:back_billings")).content.decode()

        row = client.get(reverse("billing:back_billings")).context["rows"][0]
        assert (
            row.base_account_number, row.customer_name, row.case_label, row.method_label,
            row.period_start, row.period_end, row.energy, row.amount, row.created_by,
        ) == (
            group.points.get(kind="base").account_number, group.customer.name,
            "倍率不符（现场发现未登记点位）（2026-06-01）", "倍率不符：按正确与错误倍率之差",
            JUNE, JULY, Decimal("60.00"), Decimal("39.48"), "测试电费人员",
        )  # fmt: skip
        assert f">{row.base_account_number}</a>" in page
        assert "2026-06-01 — 2026-07-01" in page

    def test_a_manager_reads_it_and_a_clerk_is_refused(self, client, city, records):
        manager = factories.user(unit=city.south, role=Role.MANAGER)
        client.force_login(manager)
        seen = self.ids(client.get(reverse("billing:back_billings"), {"status": "all"}))
        client.force_login(city.south_clerk)

        refused = client.get(reverse("billing:back_billings"))

        assert sorted(seen) == sorted(item.pk for item in records.values())
        assert refused.status_code == 403
        assert "只有电费人员和管理人员可以查看退补记录。" in refused.content.decode()

    def test_the_case_and_group_links_narrow_it(self, client, city, group, billing, records):
        client.force_login(billing)
        url = reverse("billing:back_billings")

        of_case = self.ids(client.get(url, {"case": records["draft"].case_id}))
        of_group = self.ids(client.get(url, {"group": group.pk}))

        assert of_case == [records["draft"].pk]
        assert sorted(of_group) == sorted(item.pk for item in records.values())

    def test_costs_the_same_queries_for_few_or_many_rows_and_pages(
        self, client, city, group, billing, settings, django_assert_num_queries
    ):
        settings.REFMETER_PAGE_SIZE = 4
        history(group)
        multiplier(billing, group)
        client.force_login(billing)
        url = reverse("billing:back_billings")
        with django_assert_num_queries(QUERIES):
            assert len(client.get(url).context["rows"]) == 1
        for _index in range(6):
            other = factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place,
                active_from=dt.date(2026, 1, 1),
            )  # fmt: skip
            factories.group_terms(other, actor=city.south_admin, tariff_code="LV-NONRES")
            history(other)
            case = anomaly_case_open_by_hand(
                actor=city.south_admin, group_id=other.pk, kind="multiplier", since=JUNE,
                note="", now=NOW,
            )  # fmt: skip
            multiplier(billing, other, case=case)

        with django_assert_num_queries(QUERIES):
            response = client.get(url)

        assert len(response.context["rows"]) == 4
        assert response.context["page"].paginator.count == 7
