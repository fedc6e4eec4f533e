from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from refmeter.anomalies.services import anomalies_scan
from tests import factories
from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class TestMeterChart:
    def test_the_meter_page_draws_readings_and_energy_with_the_anomaly_marked(
        self, page, live_server, city
    ):
        today = timezone.localdate()
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place,
            active_from=today - dt.timedelta(days=200),
        )  # fmt: skip
        start = today - dt.timedelta(days=60)
        values = [100 + 2 * day for day in range(50)] + [198] * 11
        factories.readings(group, start, values)
        anomalies_scan(as_of=today, now=timezone.now())

        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名").fill("south_admin")
        page.get_by_label("密码").fill("correct-horse-battery")
        page.get_by_role("button", name="登录").click()
        page.goto(f"{live_server.url}/anomalies/meters/{group.pk}/")

        chart = page.get_by_test_id("meter-chart")
        chart.locator("canvas").wait_for()
        assert chart.locator(".u-legend").inner_text().count("kWh") == 2
        assert "停走" in page.locator("main").inner_text()
        save_screenshot(page, "meter-chart")
