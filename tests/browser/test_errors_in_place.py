"""In the browser: htmx shows a refused form in place and a server error in the error box."""

from __future__ import annotations

import re

import pytest

from refmeter.registry.models import Point, PointKind
from tests import factories
from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("用户名").fill("south_clerk")
    page.get_by_label("密码").fill("correct-horse-battery")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # each role lands on its home page


class TestErrorsAreShown:
    def test_an_unknown_access_point_appears_beside_the_field_with_the_typing_kept(
        self, page, live_server, city
    ):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                sub_accounts=1)  # fmt: skip
        point = Point.objects.get(group=group, kind=PointKind.SUB)
        log_in(page, live_server)
        page.goto(f"{live_server.url}/points/{point.pk}/")

        page.get_by_label("户名").fill("城南新村56幢电信车库")
        page.get_by_label("接入点编号").fill("33503000000000000")
        page.get_by_label("修改原因").fill("现场核实")
        page.get_by_role("button", name="保存").click()

        error = page.locator("#error-access_point_number")
        error.wait_for()
        assert error.inner_text() == "接入点 33503000000000000 不存在或不属于您的单位。"
        assert page.get_by_label("户名").input_value() == "城南新村56幢电信车库"
        save_screenshot(page, "point-invalid-access-point")
        point.refresh_from_db()
        assert point.name == "虚拟子户0"

    def test_a_server_error_shows_its_incident_number_in_the_error_box(
        self, page, live_server, city, settings
    ):
        settings.ROOT_URLCONF = "tests.forms.raising_urls"
        log_in(page, live_server)
        page.goto(f"{live_server.url}/try-broken/")

        page.get_by_role("button", name="提交").click()

        box = page.locator("#errors p")
        box.wait_for()
        assert re.fullmatch(
            r"很抱歉，系统处理时出错，本次操作未完成。请稍后再试；如问题仍然存在，"
            r"请把事件编号 [0-9A-F]{8} 告诉系统管理员。",
            box.inner_text(),
        )
        assert page.get_by_role("heading", name="试一试").is_visible()  # the page stays
        assert "month must be" not in page.content()
        save_screenshot(page, "server-error-box")
