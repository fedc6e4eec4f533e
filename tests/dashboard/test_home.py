"""Each role's home page: its to-do counts, scoped to its units, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from refmeter.anomalies.models import AnomalyCase, CaseStatus, ContactSheet
from refmeter.billing.models import BackBilling, BackBillingStatus, BillingRun, RunStatus
from refmeter.dashboard.selectors import home_todos
from refmeter.inspections.services import inspection_plan_create, inspection_result_record
from refmeter.organisations.models import Role, User
from refmeter.workorders import services as orders
from refmeter.workorders.models import Step, WorkOrder
from tests import factories


def _months_back(day: dt.date, months: int) -> dt.date:
    month = day.year * 12 + day.month - 1 - months
    return dt.date(month // 12, month % 12 + 1, 1)


class Work:
    """A service area's open work of every kind, and a little in the other service area."""

    def __init__(self, city) -> None:
        self.today = today = timezone.localdate()
        now = timezone.now()
        south, admin = city.south, city.south_admin
        self.users = {
            role: factories.user(unit=south, role=role, username=f"south_{role}")
            for role in Role
            if role not in (Role.CLERK, Role.ADMINISTRATOR)
        }
        self.users[Role.CLERK] = city.south_clerk
        self.users[Role.ADMINISTRATOR] = admin
        self.second_billing = factories.user(unit=south, role=Role.BILLING, username="billing2")
        customer = factories.customer(actor=admin, unit=south)
        device = factories.device_type(actor=admin)
        self.group = factories.group(
            actor=admin, unit=south, place=city.south_place, sub_accounts=9,
            active_from=_months_back(today, 9), customer_record=customer, device=device,
        )  # fmt: skip

        def order(step: str, *, due: dt.date | None = None, actor: User = admin) -> None:
            created = orders.order_new_install_start(
                actor=actor, customer_id=customer.pk if actor == admin else north_customer.pk,
                device_type_id=device.pk, application=orders.Application(), now=now,
            )  # fmt: skip
            WorkOrder.objects.filter(pk=created.pk).update(step=step, archive_due_date=due)

        north_customer = factories.customer(actor=city.north_admin, unit=city.north)
        for step in (Step.ACCEPTANCE, Step.ACCEPTANCE, Step.SURVEY, Step.CONTRACT,
                     Step.CONNECTION, Step.INSTALLATION, Step.INSTALLATION, Step.REMOVAL,
                     Step.DONE):  # fmt: skip
            order(step)
        order(Step.ARCHIVE, due=today - dt.timedelta(days=3))
        order(Step.ARCHIVE, due=today)
        order(Step.ARCHIVE, due=today + dt.timedelta(days=60))
        order(Step.ACCEPTANCE, actor=city.north_admin)  # another unit's

        def case(kind: str, age: int, status: str = CaseStatus.OPEN) -> AnomalyCase:
            raised = today - dt.timedelta(days=age)
            return AnomalyCase.objects.create(
                group=self.group, meter_asset_number=self.group.meter_asset_number, kind=kind,
                status=status, condition_since=raised, raised_on=raised, last_seen_on=today,
            )  # fmt: skip

        fresh = case("stopped", 2)
        case("zero", 10)
        answered = case("reverse", 40)
        case("going_down", 31)
        case("missing", 50, status=CaseStatus.CLOSED)
        for number, sheet_case, answered_at in (("L1", fresh, None), ("L2", answered, now)):
            ContactSheet.objects.create(
                case=sheet_case, number=number, unit=south, sent_at=now, sent_by=admin,
                answered_at=answered_at,
            )  # fmt: skip

        field = self.users[Role.FIELD_STAFF]
        current = inspection_plan_create(
            actor=field, unit=south, period_start=today.replace(day=1), now=now, seed=1
        )
        inspection_plan_create(
            actor=field, unit=south, period_start=_months_back(today, 8), now=now, seed=2
        )
        done = current.targets.order_by("point_id").first()
        inspection_result_record(
            actor=field, point_id=done.point_id, finding="sealed", note="", now=now
        )

        last_month = _months_back(today, 1)
        for months, status in ((2, RunStatus.OPEN), (3, RunStatus.CLOSED)):
            start = _months_back(today, months)
            BillingRun.objects.create(
                unit=south, period_start=start, period_end=_months_back(today, months - 1),
                status=status, computed_at=now,
            )  # fmt: skip
        BillingRun.objects.create(
            unit=city.north, period_start=last_month, period_end=today.replace(day=1),
            computed_at=now,
        )  # fmt: skip
        for status in (BackBillingStatus.DRAFT, BackBillingStatus.APPROVED):
            BackBilling.objects.create(
                group=self.group, method="own_history", period_start=last_month,
                period_end=today.replace(day=1), energy=Decimal("10.00"), price=Decimal("0.5"),
                amount=Decimal("5.00"), status=status, created_by=self.second_billing,
                created_at=now,
            )  # fmt: skip
        self.last_month = f"{last_month:%Y-%m}"


@pytest.fixture
def work(city) -> Work:
    return Work(city)


def counts(user: User, today: dt.date) -> dict[str, int]:
    fresh = User.objects.get(pk=user.pk)
    return {
        item.key: item.count
        for section in home_todos(user=fresh, today=today)
        for item in section.items
    }


ORDERS = {"acceptance": 2, "survey": 1, "contract": 1, "connection": 1, "installation": 2,
          "removal": 1}  # fmt: skip
ARCHIVES = {"archive_overdue": 1, "archive_due": 1}
CASES = {"cases_fresh": 1, "cases_weeks": 1, "cases_old": 2, "sheets_unanswered": 1}
INSPECTIONS = {"inspections_due": 1, "inspections_overdue": 2}
BILLING = {"months_to_bill": 1, "months_to_close": 1, "back_billings_to_approve": 1}


class TestEachRolesCounts:
    def test_the_clerk_sees_orders_at_acceptance_and_archive_deadlines(self, work):
        assert counts(work.users[Role.CLERK], work.today) == {"acceptance": 2, **ARCHIVES}

    def test_the_surveyor_sees_orders_awaiting_survey_and_installation_entries(self, work):
        assert counts(work.users[Role.SURVEYOR], work.today) == {"survey": 1, "installation": 2}

    def test_the_customer_manager_sees_contracts_to_sign_and_archives_due(self, work):
        assert counts(work.users[Role.CUSTOMER_MANAGER], work.today) == {
            "contract": 1, **ARCHIVES,
        }  # fmt: skip

    def test_field_staff_see_connections_installations_inspections_and_sheets(self, work):
        assert counts(work.users[Role.FIELD_STAFF], work.today) == {
            "connection": 1, "installation": 2, "removal": 1, **INSPECTIONS,
            "sheets_to_answer": 1,
        }  # fmt: skip

    def test_data_collection_sees_open_cases_by_age_and_unanswered_sheets(self, work):
        assert counts(work.users[Role.DATA_COLLECTION], work.today) == CASES

    def test_billing_sees_months_to_bill_and_close_and_back_billings_to_approve(self, work):
        assert counts(work.users[Role.BILLING], work.today) == BILLING

    def test_the_one_who_computed_a_back_billing_is_not_asked_to_approve_it(self, work):
        assert counts(work.second_billing, work.today)["back_billings_to_approve"] == 0

    def test_the_administrator_sees_every_to_do(self, work):
        assert counts(work.users[Role.ADMINISTRATOR], work.today) == {
            **ORDERS, **ARCHIVES, **INSPECTIONS, **CASES, **BILLING,
        }  # fmt: skip

    def test_the_manager_has_no_to_do_list(self, work):
        assert counts(work.users[Role.MANAGER], work.today) == {}


class TestScoping:
    def test_another_service_area_counts_only_its_own(self, work, city):
        north_clerk = counts(city.north_clerk, work.today)
        north_admin = counts(city.north_admin, work.today)

        assert north_clerk == {"acceptance": 1, "archive_overdue": 0, "archive_due": 0}
        # its last month was run and is still open; it has no group to bill anyway
        assert {key: count for key, count in north_admin.items() if count} == {
            "acceptance": 1, "months_to_close": 1,
        }  # fmt: skip
        assert north_admin["months_to_bill"] == 0

    def test_the_company_administrator_counts_both_service_areas(self, work, city):
        assert counts(city.admin, work.today)["acceptance"] == 3


class TestQueries:
    def test_the_administrators_counts_take_the_same_queries_with_or_without_work(
        self, work, city, django_assert_num_queries
    ):
        busy = User.objects.get(pk=work.users[Role.ADMINISTRATOR].pk)
        idle = factories.user(unit=factories.unit(code="3350199", parent=city.company))
        idle = User.objects.get(pk=idle.pk)

        # the user's unit, the working-day calendar, orders, inspections, cases, and three
        # for billing (units to bill, runs to close, back-billings to approve)
        with django_assert_num_queries(9):
            home_todos(user=busy, today=work.today)
        with django_assert_num_queries(9):
            home_todos(user=idle, today=work.today)


class TestHomePage:
    def test_each_count_links_to_the_list_of_those_items(self, client, work):
        client.force_login(work.users[Role.FIELD_STAFF])

        page = client.get(reverse("home")).content.decode()

        assert (
            '<a href="/orders/?view=open&amp;step=connection" data-testid="todo-connection">'
            '<span class="todo-label">待接电工单</span> <strong class="todo-count">1</strong></a>'
        ) in page
        assert (
            '<a href="/anomalies/?status=sheet_pending" data-testid="todo-sheets_to_answer" '
            'class="urgent"><span class="todo-label">待回复的联系单</span> '
            '<strong class="todo-count">1</strong></a>'
        ) in page
        assert 'href="/inspections/" data-testid="todo-inspections_due"' in page

    def test_the_linked_order_list_shows_the_orders_at_that_step(self, client, work):
        client.force_login(work.users[Role.FIELD_STAFF])

        page = client.get(reverse("workorders:list"), {"view": "open", "step": "installation"})

        assert [row.step for row in page.context["rows"]] == ["installation", "installation"]
        # the step is the list's own filter, shown chosen in its form
        assert page.context["form"].cleaned_data["step"] == "installation"
        assert '<option value="installation" selected>' in page.content.decode()

    def test_the_billing_count_names_last_month(self, client, work):
        client.force_login(work.users[Role.BILLING])

        page = client.get(reverse("home")).content.decode()

        assert f"{work.last_month} 待出账的供电单位" in page
        assert 'href="/billing/back-billing/?status=draft"' in page

    def test_the_manager_lands_on_the_dashboard(self, client, work):
        client.force_login(work.users[Role.MANAGER])

        response = client.get(reverse("home"))

        assert response.templates[0].name == "dashboard/dashboard.html"

    def test_the_administrator_also_gets_the_admin_site_link(self, client, city):
        staff = factories.user(unit=city.south, username="staffer")
        User.objects.filter(pk=staff.pk).update(is_staff=True)
        client.force_login(city.south_admin)
        plain = client.get(reverse("home")).content.decode()
        client.force_login(User.objects.get(pk=staff.pk))

        page = client.get(reverse("home")).content.decode()

        assert 'data-testid="admin-link"' in page
        assert 'data-testid="admin-link"' not in plain  # the admin site lets in staff only

    def test_logging_in_lands_on_the_home_page(self, client, city):
        response = client.post(
            reverse("login"), {"username": "south_clerk", "password": "correct-horse-battery"}
        )

        assert response.status_code == 302
        assert response["Location"] == "/home/"

    def test_the_brand_links_home(self, client, city):
        client.force_login(city.south_clerk)

        page = client.get(reverse("registry:group_search")).content.decode()

        assert '<a class="brand" href="/home/">' in page
