from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.common.after_response import AfterResponseMiddleware
from refmeter.labels import views
from refmeter.labels.models import ScanLog
from refmeter.labels.selectors import targets_for_group
from refmeter.labels.services import labels_issue
from refmeter.labels.tokens import token_make, token_read
from refmeter.organisations.models import Role
from tests import factories

ISSUED = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
MORNING = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)
PHONE = "203.0.113.40"
OTHER_PHONE = "203.0.113.41"
PROXY = "10.0.0.2"
FOREIGN_KEY = Ed25519PrivateKey.generate()


@pytest.fixture(autouse=True)
def scan_settings(settings):
    settings.REFMETER_SCAN_RATE_LIMIT = 60
    settings.REFMETER_SCAN_RATE_WINDOW_SECONDS = 600
    settings.REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR = 20
    settings.REFMETER_TRUSTED_PROXIES = []


@pytest.fixture
def labels(city):
    group = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=4
    )
    return labels_issue(
        actor=city.south_admin,
        targets=targets_for_group(user=city.south_admin, group_id=group.pk),
        batch="test",
        now=ISSUED,
    )


def forged(genuine: str, serial: int) -> str:
    """A token for another serial, signed with a key that is not this system's."""
    parts = token_read(genuine)
    return token_make(
        key_id=parts.key_id,
        serial=serial,
        account_number=parts.account_number,
        private_key=FOREIGN_KEY,
    )


def scan(client, token, *, at, address=PHONE, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    with time_machine.travel(at, tick=False):
        return client.get(
            reverse("labels:scan", args=[token]), REMOTE_ADDR=address, headers=headers
        )


class TestAnonymousScanRateLimit:
    def test_over_the_limit_an_address_is_told_in_chinese_to_wait_and_nothing_is_logged(
        self, client, labels, settings
    ):
        settings.REFMETER_SCAN_RATE_LIMIT = 5
        statuses = [scan(client, labels[0].token, at=MORNING).status_code for _ in range(5)]
        logged = ScanLog.objects.count()

        refused = scan(client, labels[1].token, at=MORNING + dt.timedelta(minutes=3))

        assert statuses == [200] * 5
        assert refused.status_code == 429
        assert "扫码过于频繁，请 7 分钟后再试。" in refused.content.decode()
        assert refused["Retry-After"] == "420"
        assert labels[1].account_number not in refused.content.decode()
        assert ScanLog.objects.count() == logged == 1

    def test_other_addresses_are_not_limited(self, client, labels, settings):
        settings.REFMETER_SCAN_RATE_LIMIT = 5
        for _ in range(6):
            scan(client, labels[0].token, at=MORNING)

        response = scan(client, labels[0].token, at=MORNING, address=OTHER_PHONE)

        assert response.status_code == 200

    def test_logged_in_staff_are_never_limited(self, client, city, labels, settings):
        settings.REFMETER_SCAN_RATE_LIMIT = 5
        client.force_login(factories.user(unit=city.south, role=Role.FIELD_STAFF))

        statuses = {scan(client, labels[0].token, at=MORNING).status_code for _ in range(8)}

        assert statuses == {200}
        assert ScanLog.objects.filter(user__isnull=False).count() == 8

    def test_the_limit_lifts_in_the_next_window(self, client, labels, settings):
        settings.REFMETER_SCAN_RATE_LIMIT = 5
        for _ in range(6):
            scan(client, labels[0].token, at=MORNING)

        response = scan(client, labels[0].token, at=MORNING + dt.timedelta(minutes=10))

        assert response.status_code == 200

    def test_behind_a_trusted_proxy_each_phone_is_counted_by_its_own_address(
        self, client, labels, settings
    ):
        settings.REFMETER_SCAN_RATE_LIMIT = 5
        settings.REFMETER_TRUSTED_PROXIES = ["10.0.0.0/8"]
        for _ in range(5):
            scan(client, labels[0].token, at=MORNING, address=PROXY, forwarded=PHONE)

        busy = scan(client, labels[0].token, at=MORNING, address=PROXY, forwarded=PHONE)
        other = scan(client, labels[0].token, at=MORNING, address=PROXY, forwarded=OTHER_PHONE)

        assert (busy.status_code, other.status_code) == (429, 200)
        assert sorted(ScanLog.objects.values_list("remote_address", flat=True)) == [
            PHONE,
            OTHER_PHONE,
        ]


class TestAnonymousScanLog:
    def test_one_label_scanned_again_and_again_from_one_address_is_logged_once_an_hour(
        self, client, labels
    ):
        for minute in range(0, 60, 5):
            scan(client, labels[0].token, at=MORNING + dt.timedelta(minutes=minute))
        scan(client, labels[0].token, at=MORNING + dt.timedelta(minutes=61))

        assert list(
            ScanLog.objects.order_by("scanned_at").values_list(
                "scanned_at", "serial", "result", "remote_address", "user"
            )
        ) == [
            (MORNING, labels[0].serial, "valid", PHONE, None),
            (MORNING + dt.timedelta(minutes=61), labels[0].serial, "valid", PHONE, None),
        ]

    def test_each_label_each_result_and_each_address_gets_its_own_row(self, client, labels):
        scan(client, labels[0].token, at=MORNING)
        scan(client, labels[1].token, at=MORNING)
        scan(client, labels[0].token, at=MORNING, address=OTHER_PHONE)
        scan(client, "not-a-label", at=MORNING)
        scan(client, "not-a-label-either", at=MORNING)

        assert sorted(
            ScanLog.objects.values_list("serial", "result", "remote_address"),
            key=lambda row: (row[0] or 0, row[1], row[2]),
        ) == [
            (None, "malformed", PHONE),
            (labels[0].serial, "valid", PHONE),
            (labels[0].serial, "valid", OTHER_PHONE),
            (labels[1].serial, "valid", PHONE),
        ]

    def test_an_address_logs_at_most_the_cap_each_hour_though_every_page_is_answered(
        self, client, labels, settings
    ):
        settings.REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR = 3

        statuses = [scan(client, label.token, at=MORNING).status_code for label in labels]

        assert statuses == [200] * 5
        assert ScanLog.objects.count() == 3

    def test_staff_scans_are_always_logged(self, client, city, labels):
        client.force_login(factories.user(unit=city.south, role=Role.FIELD_STAFF))

        for _ in range(3):
            scan(client, labels[0].token, at=MORNING)

        assert ScanLog.objects.filter(user__isnull=False).count() == 3

    def test_a_probe_of_many_forgeries_leaves_a_bounded_log(self, client, labels):
        genuine = labels[0].token

        statuses = [
            scan(
                client, forged(genuine, 1000 + number), at=MORNING + dt.timedelta(seconds=number)
            ).status_code
            for number in range(300)
        ]

        assert statuses == [404] * 60 + [429] * 240
        assert ScanLog.objects.count() == 20
        assert set(ScanLog.objects.values_list("result", "remote_address")) == {("forged", PHONE)}


def close(response) -> None:
    """What the WSGI server does once it has sent the answer (as the test client does it:
    without closing the test's database connection)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


class TestAnonymousScanCost:
    """Every phone opens this page: three statements before the answer (the rate limit, the
    label with its key, the point with its group's base account and multiplier), and one
    after it (the log, with its own bounds as its condition)."""

    def answer(self, rf, token, *, address=PHONE):
        request = rf.get(reverse("labels:scan", args=[token]), REMOTE_ADDR=address)
        request.user = AnonymousUser()
        return AfterResponseMiddleware(lambda request: views.scan(request, token))(request)

    def test_the_answer_costs_three_queries_and_the_log_one_after_it(self, rf, labels):
        with time_machine.travel(MORNING, tick=False):
            close(self.answer(rf, labels[0].token, address=OTHER_PHONE))  # opens the window
            with CaptureQueriesContext(connection) as answering:
                response = self.answer(rf, labels[1].token)
            logged_before_close = ScanLog.objects.filter(remote_address=PHONE).count()
            with CaptureQueriesContext(connection) as after_the_answer:
                close(response)

        assert response.status_code == 200
        assert len(answering.captured_queries) == 3
        assert logged_before_close == 0
        assert len(after_the_answer.captured_queries) == 1
        assert list(
            ScanLog.objects.filter(remote_address=PHONE).values_list("serial", "result", "user")
        ) == [(labels[1].serial, "valid", None)]

    def test_a_scan_that_is_not_logged_costs_one_query_after_the_answer(self, rf, labels):
        with time_machine.travel(MORNING, tick=False):
            close(self.answer(rf, labels[1].token))
            response = self.answer(rf, labels[1].token)
            with CaptureQueriesContext(connection) as after_the_answer:
                close(response)

        assert len(after_the_answer.captured_queries) == 1
        assert ScanLog.objects.filter(remote_address=PHONE).count() == 1

    def test_the_page_shows_the_point_its_base_account_and_multiplier(self, client, labels):
        response = scan(client, labels[1].token, at=MORNING)

        page = response.content.decode()
        assert response.status_code == 200
        assert labels[1].account_number in page
        assert f"{labels[0].account_number} · 综合倍率 5" in page
