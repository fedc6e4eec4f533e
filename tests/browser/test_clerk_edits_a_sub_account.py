from __future__ import annotations

import pytest

from refmeter.registry.models import Point, PointKind
from tests import factories
from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class TestClerkEditsASubAccount:
    def test_a_clerk_finds_a_group_edits_a_point_and_sees_the_history(
        self, page, live_server, city
    ):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3
        )
        point = Point.objects.filter(group=group, kind=PointKind.SUB).order_by("pk").first()

        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名").fill("south_clerk")
        page.get_by_label("密码").fill("correct-horse-battery")
        page.get_by_role("button", name="登录").click()
        page.get_by_role("heading", name="待办").wait_for()
        page.get_by_role("link", name="基准户查询").click()
        page.get_by_role("heading", name="基准户查询").wait_for()
        page.get_by_label("客户名称").fill("中国移动")
        page.get_by_role("button", name="查询").click()
        # the unfiltered list already shows the group: click it only on the answer to the
        # search, or the two navigations race and the click can be lost
        page.wait_for_url(lambda url: "customer=" in url)
        page.get_by_role("link", name="1702000001").click()
        page.get_by_role("heading", name="群组 1702000001").wait_for()
        page.get_by_role("link", name=point.account_number).click()
        page.get_by_label("户名").fill("城南新村56幢电信车库")
        page.get_by_label("修改原因").fill("现场核实更正")
        page.get_by_role("button", name="保存").click()

        history = page.locator("table.history")
        history.get_by_text("虚拟子户0 → 城南新村56幢电信车库").wait_for()
        assert history.get_by_text("现场核实更正").is_visible()
        assert page.get_by_role("heading", name=f"虚拟子户 {point.account_number}").is_visible()
        save_screenshot(page, "clerk-edits-sub-account")
        point.refresh_from_db()
        assert point.name == "城南新村56幢电信车库"
