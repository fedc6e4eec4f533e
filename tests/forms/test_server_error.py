from __future__ import annotations

import logging
import re

import pytest


@pytest.fixture
def failing_client(client, settings):
    settings.ROOT_URLCONF = "tests.forms.raising_urls"
    settings.DEBUG = False
    client.raise_request_exception = False
    return client


class TestAServerError:
    def test_shows_a_chinese_page_with_an_incident_number_that_is_in_the_log(
        self, failing_client, city, caplog
    ):
        failing_client.force_login(city.south_clerk)

        with caplog.at_level(logging.ERROR, logger="refmeter.incidents"):
            response = failing_client.get("/broken/")

        content = response.content.decode()
        incident = response["X-Incident"]
        assert response.status_code == 500
        assert re.fullmatch(r"[0-9A-F]{8}", incident)
        assert "很抱歉，系统处理时出错，本次操作未完成。" in content
        assert f'<strong data-testid="incident">{incident}</strong>' in content
        assert "month must be" not in content
        assert "Traceback" not in content
        [record] = [r for r in caplog.records if r.name == "refmeter.incidents"]
        assert record.levelno == logging.ERROR
        assert record.getMessage() == f"incident {incident}: GET /broken/"
        assert record.exc_info[0] is ValueError

    def test_each_failure_has_its_own_number(self, failing_client, city):
        failing_client.force_login(city.south_clerk)

        first = failing_client.get("/broken/")["X-Incident"]
        second = failing_client.get("/broken/")["X-Incident"]

        assert first != second

    def test_the_page_is_english_for_an_english_user(self, failing_client, city):
        failing_client.force_login(city.south_clerk)
        failing_client.cookies["django_language"] = "en"

        response = failing_client.get("/broken/")

        assert "Incident number" in response.content.decode()
