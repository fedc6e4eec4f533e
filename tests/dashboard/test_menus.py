"""Menus and action buttons show only what the role may do (the server refuses the rest)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refmeter.anomalies.models import AnomalyCase
from refmeter.billing.models import BackBilling
from refmeter.dashboard.context_processors import rights
from refmeter.organisations.models import Role, User
from refmeter.organisations.permissions import Action
from tests import factories

EVERYONE = ["待办", "基准户查询", "工单", "存量核查", "管理看板", "点位统计", "接口文档"]
MENUS = {
    Role.CLERK: ["待办", "基准户查询", "业务", "工单", "新装受理", "归档期限", "存量核查",
                 "统计", "管理看板", "点位统计", "接口文档"],
    Role.SURVEYOR: ["待办", "基准户查询", "业务", "工单", "存量核查",
                    "统计", "管理看板", "点位统计", "接口文档"],
    Role.CUSTOMER_MANAGER: ["待办", "基准户查询", "业务", "工单", "归档期限", "存量核查",
                            "电网", "停电通知", "统计", "管理看板", "点位统计", "接口文档"],
    Role.FIELD_STAFF: ["待办", "基准户查询", "业务", "工单", "存量核查", "计量电费", "计量异常",
                       "电网", "台区线损", "停电通知", "周期检查",
                       "统计", "管理看板", "点位统计", "接口文档"],
    Role.DATA_COLLECTION: ["待办", "基准户查询", "业务", "工单", "存量核查",
                           "计量电费", "计量异常", "抄表数据导入", "电网", "台区线损",
                           "统计", "管理看板", "点位统计", "接口文档"],
    Role.BILLING: ["待办", "基准户查询", "业务", "工单", "存量核查",
                   "计量电费", "计量异常", "电费账期", "退补", "营销系统核对", "电网", "台区线损",
                   "统计", "管理看板", "点位统计", "接口文档"],
    Role.MANAGER: ["待办", "基准户查询", "业务", "工单", "存量核查",
                   "计量电费", "计量异常", "电费账期", "退补", "营销系统核对",
                   "电网", "台区线损", "停电通知", "周期检查",
                   "统计", "管理看板", "点位统计", "接口文档"],
    Role.ADMINISTRATOR: ["待办", "基准户查询", "业务", "工单", "新装受理", "归档期限", "存量核查",
                         "计量电费", "计量异常", "抄表数据导入", "电费账期", "退补", "营销系统核对",
                         "电网", "台区线损", "停电通知", "周期检查",
                         "统计", "管理看板", "点位统计", "接口文档", "系统", "用户管理", "主数据导入"],
}  # fmt: skip


def nav_entries(html: str) -> list[str]:
    """The group titles and links of the header's menu, in order."""
    nav = re.search(r'<nav aria-label="主菜单">(.*?)</nav>', html, flags=re.S)
    assert nav is not None
    return [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r"<(?:summary|a)\b[^>]*>(.*?)</(?:summary|a)>", nav.group(1))
    ]


@pytest.fixture
def people(city) -> dict[Role, User]:
    return {role: factories.user(unit=city.south, role=role, username=f"m_{role}") for role in Role}


def page_as(client, user: User, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


class TestMenuPerRole:
    @pytest.mark.parametrize("role", list(Role), ids=str)
    def test_each_role_sees_its_own_menu(self, client, people, role):
        html = page_as(client, people[role], reverse("home"))

        assert nav_entries(html) == MENUS[role]

    def test_every_role_has_the_pages_open_to_all(self):
        for entries in MENUS.values():
            assert [entry for entry in entries if entry in EVERYONE] == EVERYONE

    def test_the_header_has_the_search_field(self, client, people):
        html = page_as(client, people[Role.CLERK], reverse("home"))

        assert '<form class="search" action="/search/" method="get" role="search">' in html
        assert re.search(
            r'<label><span class="visually-hidden">搜索</span><input name="q" type="search" '
            r'placeholder="户号、表号、接入点、台区、客户名、地址"',
            html,
        )

    def test_a_visitor_gets_no_menu_and_no_search(self, client, db):
        html = client.get(reverse("login")).content.decode()

        assert "<nav" not in html
        assert 'name="q"' not in html

    def test_the_rights_cost_no_query(self, people):
        request = RequestFactory().get("/home/")
        request.user = User.objects.get(pk=people[Role.FIELD_STAFF].pk)

        with CaptureQueriesContext(connection) as queries:
            context = rights(request)

        assert len(queries) == 0
        assert context["may"][Action.RECORD_INSPECTION] is True
        assert context["may"][Action.RUN_BILLING] is False


class TestActionButtons:
    def test_a_clerk_gets_no_billing_run_button_but_billing_staff_do(self, client, people):
        clerk = page_as(client, people[Role.CLERK], reverse("billing:runs"))
        billing = page_as(client, people[Role.BILLING], reverse("billing:runs"))

        assert "出账（试算）" not in clerk
        assert "电费账期" not in nav_entries(clerk)
        assert "出账（试算）" in billing

    def test_a_manager_gets_no_approve_button_nor_does_who_computed_it(self, client, people, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        computed_by = people[Role.BILLING]
        today = timezone.localdate()
        item = BackBilling.objects.create(
            group=group, method="own_history", period_start=today - dt.timedelta(days=30),
            period_end=today, energy=Decimal("1.00"), price=Decimal("0.5"),
            amount=Decimal("0.50"), created_by=computed_by, created_at=timezone.now(),
        )  # fmt: skip
        url = reverse("billing:back_billing", args=[item.pk])
        other = factories.user(unit=city.south, role=Role.BILLING, username="second")

        manager = page_as(client, people[Role.MANAGER], url)
        computer = page_as(client, computed_by, url)
        second = page_as(client, other, url)

        assert "审批并在下期账单结算" not in manager
        assert "撤回原因" not in manager
        assert "审批并在下期账单结算" not in computer
        assert "撤回原因" in computer
        assert "审批并在下期账单结算" in second

    @pytest.mark.parametrize(
        ("role", "shown"),
        [(Role.BILLING, False), (Role.DATA_COLLECTION, False), (Role.MANAGER, False),
         (Role.FIELD_STAFF, True), (Role.CLERK, True)],
        ids=str,
    )  # fmt: skip
    def test_label_printing_only_for_those_who_fix_labels(self, client, people, city, role, shown):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        html = page_as(client, people[role], reverse("registry:group_detail", args=[group.pk]))

        assert ("打印二维码标签" in html) is shown
        assert ("发起变更" in html) is (role == Role.CLERK)

    def test_the_outage_form_only_for_those_who_plan_outages(self, client, people):
        clerk = page_as(client, people[Role.CLERK], reverse("outages:list"))
        manager = page_as(client, people[Role.CUSTOMER_MANAGER], reverse("outages:list"))

        assert "登记停电" not in clerk
        assert "登记停电" in manager

    def test_the_readings_upload_only_for_data_collection(self, client, people):
        collector = page_as(client, people[Role.DATA_COLLECTION], reverse("anomalies:list"))
        field = page_as(client, people[Role.FIELD_STAFF], reverse("anomalies:list"))

        assert 'href="/readings/import/">导入抄表数据</a>' in collector
        assert "导入抄表数据" not in field
        assert "抄表数据导入" not in nav_entries(field)

    def test_contact_sheet_buttons_follow_who_sends_and_who_answers(self, client, people, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        today = timezone.localdate()
        case = AnomalyCase.objects.create(
            group=group, meter_asset_number=group.meter_asset_number, kind="stopped",
            condition_since=today, raised_on=today, last_seen_on=today,
        )  # fmt: skip
        url = reverse("anomalies:case", args=[case.pk])

        collector = page_as(client, people[Role.DATA_COLLECTION], url)
        field = page_as(client, people[Role.FIELD_STAFF], url)
        billing = page_as(client, people[Role.BILLING], url)

        assert "发联系单给用电检查人员" in collector
        assert "发联系单给用电检查人员" not in field
        assert "计算退补" not in collector
        assert "计算退补" in billing

    def test_the_inspection_plan_form_only_for_planners(self, client, people):
        clerk = page_as(client, people[Role.CLERK], reverse("inspections:plans"))
        field = page_as(client, people[Role.FIELD_STAFF], reverse("inspections:plans"))

        assert "生成检查计划" not in clerk
        assert "生成检查计划" in field

    def test_the_new_install_button_only_for_clerks(self, client, people):
        clerk = page_as(client, people[Role.CLERK], reverse("workorders:list"))
        surveyor = page_as(client, people[Role.SURVEYOR], reverse("workorders:list"))

        assert 'class="button secondary" href="/orders/new/"' in clerk
        assert "/orders/new/" not in surveyor
