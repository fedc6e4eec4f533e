from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from refmeter.inspections.services import inspection_plan_create
from refmeter.labels.selectors import targets_for_points
from refmeter.labels.services import labels_issue
from refmeter.organisations.models import Role
from tests import factories
from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


class TestInspectionOnAPhone:
    def test_an_inspector_works_a_plan_target_from_its_label(self, phone, live_server, city):
        today = timezone.localdate()
        factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=9,
            active_from=today - dt.timedelta(days=100),
        )  # fmt: skip
        inspector = factories.user(unit=city.south, role=Role.FIELD_STAFF, username="inspector")
        plan = inspection_plan_create(
            actor=inspector, unit=city.south, period_start=today.replace(day=1), now=timezone.now(),
            seed=5,
        )  # fmt: skip
        target = plan.targets.order_by("point_id").first()
        label = labels_issue(
            actor=inspector, targets=targets_for_points(user=inspector, point_ids=[target.point_id]),
            batch="test", now=timezone.now(),
        )[0]  # fmt: skip

        phone.goto(f"{live_server.url}/login/")
        phone.get_by_label("用户名").fill("inspector")
        phone.get_by_label("密码").fill("correct-horse-battery")
        phone.get_by_role("button", name="登录").click()
        phone.goto(f"{live_server.url}/inspections/{plan.pk}/")
        before = phone.get_by_test_id("progress").inner_text()
        phone.goto(f"{live_server.url}/s/{label.token}/")
        phone.get_by_label("点位在，封印完好").check()
        phone.get_by_role("button", name="记录", exact=True).click()
        phone.locator(".messages").get_by_text("检查结果已记录。").wait_for()
        save_screenshot(phone, "inspection-on-a-phone")
        phone.goto(f"{live_server.url}/inspections/{plan.pk}/")

        total = plan.targets.count()
        assert before == f"已检查 0 / {total}"
        assert phone.get_by_test_id("progress").inner_text() == f"已检查 1 / {total}"
        target.refresh_from_db()
        assert target.result.finding == "sealed"
