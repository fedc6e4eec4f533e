from __future__ import annotations

import datetime as dt

import pytest

from refmeter.labels.selectors import targets_for_group
from refmeter.labels.services import labels_issue
from tests import factories
from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


class TestScanningALabelWithAPhone:
    def test_without_login_the_point_shows_and_personal_data_does_not(
        self, phone, live_server, city
    ):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
        )
        label = labels_issue(
            actor=city.south_admin,
            targets=targets_for_group(user=city.south_admin, group_id=group.pk),
            batch="test",
            now=NOW,
        )[1]
        path = label.url.split("/s/", 1)[1]

        phone.goto(f"{live_server.url}/s/{path}")

        assert phone.get_by_test_id("valid-label").is_visible()
        assert phone.get_by_test_id("account-number").inner_text() == label.account_number
        text = phone.locator("main").inner_text()
        assert "33503000009083788" in text and "3310000001" in text
        assert "0575-88003000" not in text and "13800000000" not in text and "张三" not in text
        save_screenshot(phone, "scan-on-a-phone")

    def test_a_forged_label_is_unmistakably_invalid(self, phone, live_server, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        token = labels_issue(
            actor=city.south_admin,
            targets=targets_for_group(user=city.south_admin, group_id=group.pk),
            batch="test",
            now=NOW,
        )[0].token
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

        phone.goto(f"{live_server.url}/s/{forged}")

        assert phone.get_by_test_id("invalid-label").is_visible()
        assert "无效标签" in phone.get_by_role("heading").first.inner_text()
        save_screenshot(phone, "scan-forged")
