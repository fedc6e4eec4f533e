from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refmeter.organisations.models import ApiToken, User
from refmeter.organisations.services import api_token_authenticate, api_token_create

ISSUED = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
URL = "/api/v1/statistics"
HOST = "198.51.100.30"
OTHER_HOST = "198.51.100.31"
PROXY = "10.0.0.2"


class QuickHasher(MD5PasswordHasher):
    """Another fast hasher, so that a test can make Django re-hash a password on login."""

    algorithm = "quick_md5"


def call(client, key, *, at, address=HOST, forwarded=None):
    headers = {"Authorization": f"Bearer {key}"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    with time_machine.travel(at, tick=False):
        return client.get(URL, headers=headers, REMOTE_ADDR=address)


@pytest.fixture(autouse=True)
def token_settings(settings):
    settings.REFMETER_API_TOKEN_DAYS = 90
    settings.REFMETER_API_TOKEN_FAILURE_LIMIT = 20
    settings.REFMETER_TRUSTED_PROXIES = []


class TestExpiry:
    def test_a_token_works_until_its_ninetieth_day(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)

        last_second = call(client, key, at=ISSUED + dt.timedelta(days=90, seconds=-1))
        expired = call(client, key, at=ISSUED + dt.timedelta(days=90))

        assert ApiToken.objects.get().expires_at == ISSUED + dt.timedelta(days=90)
        assert last_second.status_code == 200
        assert expired.status_code == 401
        assert expired.json() == {"detail": "接口令牌已于 2027-03-01 09:00 过期，请重新签发。"}

    def test_the_lifetime_comes_from_the_setting(self, city, settings):
        settings.REFMETER_API_TOKEN_DAYS = 30

        api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)

        assert ApiToken.objects.get().expires_at == ISSUED + dt.timedelta(days=30)

    def test_create_token_may_give_a_shorter_life(self, city):
        output = io.StringIO()

        with time_machine.travel(ISSUED, tick=False):
            call_command(
                "create_token",
                "south_clerk",
                "采集系统",
                "--days",
                "7",
                "--format",
                "json",
                stdout=output,
            )

        printed = json.loads(output.getvalue())
        token = ApiToken.objects.get()
        assert token.expires_at == ISSUED + dt.timedelta(days=7)
        assert printed["expires_at"] == "2026-12-08T09:00:00+08:00"
        assert printed["token"].startswith(token.prefix)

    @pytest.mark.parametrize("days", ["0", "-3", "3651"])
    def test_create_token_refuses_a_lifetime_out_of_range(self, city, days):
        with pytest.raises(CommandError, match="有效天数"):
            call_command("create_token", "south_clerk", "采集系统", "--days", days)

        assert not ApiToken.objects.exists()


class TestPasswordChange:
    def test_a_new_password_stops_the_tokens_issued_before_it(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        user = User.objects.get(pk=city.south_clerk.pk)
        user.set_password("another-horse-battery")
        user.save()

        refused = call(client, key, at=ISSUED + dt.timedelta(days=1))
        fresh = api_token_create(user=user, name="营销系统接口", now=ISSUED + dt.timedelta(days=1))
        accepted = call(client, fresh, at=ISSUED + dt.timedelta(days=1))

        assert refused.status_code == 401
        assert refused.json() == {
            "detail": "该用户的密码已修改，此前签发的接口令牌已失效，请重新签发。"
        }
        assert accepted.status_code == 200

    def test_a_password_changed_with_save_of_some_fields_stops_them_too(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        user = User.objects.get(pk=city.south_clerk.pk)
        user.set_password("another-horse-battery")
        user.save(update_fields=["password"])

        refused = call(client, key, at=ISSUED + dt.timedelta(days=1))

        assert refused.status_code == 401

    def test_django_rehashing_the_same_password_keeps_tokens_working(self, client, city, settings):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        settings.PASSWORD_HASHERS = [
            f"{QuickHasher.__module__}.QuickHasher",
            "django.contrib.auth.hashers.MD5PasswordHasher",
        ]
        user = User.objects.get(pk=city.south_clerk.pk)

        assert user.check_password("correct-horse-battery")

        user.refresh_from_db()
        assert user.password.startswith("quick_md5$")
        assert call(client, key, at=ISSUED + dt.timedelta(days=1)).status_code == 200

    def test_a_deactivated_user_s_tokens_stop(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        User.objects.filter(pk=city.south_clerk.pk).update(is_active=False)

        refused = call(client, key, at=ISSUED + dt.timedelta(days=1))

        assert refused.status_code == 401
        assert refused.json() == {"detail": "接口令牌无效或已吊销。"}


class TestLastUse:
    def test_the_first_use_is_recorded(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        used = ISSUED + dt.timedelta(hours=3)

        call(client, key, at=used)

        assert ApiToken.objects.get().last_used_at == used

    def test_uses_within_a_minute_write_nothing(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        used = ISSUED + dt.timedelta(hours=3)
        call(client, key, at=used)

        with CaptureQueriesContext(connection) as queries:
            response = call(client, key, at=used + dt.timedelta(seconds=59))

        assert response.status_code == 200
        assert ApiToken.objects.get().last_used_at == used
        writes = [
            query["sql"]
            for query in queries.captured_queries
            if query["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
        ]
        assert writes == []

    def test_a_use_a_minute_later_is_recorded(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        used = ISSUED + dt.timedelta(hours=3)
        call(client, key, at=used)

        call(client, key, at=used + dt.timedelta(seconds=60))

        assert ApiToken.objects.get().last_used_at == used + dt.timedelta(seconds=60)

    def test_a_known_token_costs_one_query_and_its_use_is_written_afterwards(self, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        used = ISSUED + dt.timedelta(hours=3)
        deferred: list = []

        with CaptureQueriesContext(connection) as queries:
            user = api_token_authenticate(key=key, now=used, client=HOST, defer=deferred.append)
        unwritten = ApiToken.objects.get().last_used_at
        for work in deferred:
            work()

        assert user == city.south_clerk
        assert len(queries.captured_queries) == 1
        assert unwritten is None
        assert ApiToken.objects.get().last_used_at == used

    def test_list_tokens_shows_each_token_s_state_and_last_use(self, client, city):
        used_key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        api_token_create(user=city.south_clerk, name="旧脚本", now=ISSUED - dt.timedelta(days=100))
        api_token_create(user=city.north_clerk, name="采集系统", now=ISSUED)
        call(client, used_key, at=ISSUED + dt.timedelta(hours=3))
        output = io.StringIO()

        with time_machine.travel(ISSUED + dt.timedelta(days=1), tick=False):
            call_command("list_tokens", "south_clerk", "--format", "json", stdout=output)

        listed = json.loads(output.getvalue())
        assert [
            (row["name"], row["state"], row["last_used_at"], row["expires_at"]) for row in listed
        ] == [
            ("营销系统接口", "有效", "2026-12-01T12:00:00+08:00", "2027-03-01T09:00:00+08:00"),
            ("旧脚本", "已过期", None, "2026-11-21T09:00:00+08:00"),
        ]
        assert listed[0]["prefix"] == used_key[:8]
        assert all(set(row) >= {"username", "created_at", "revoked_at"} for row in listed)


class TestFailedTokensAreThrottled:
    def test_after_twenty_unknown_tokens_the_address_is_told_in_chinese_to_wait(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        for number in range(20):
            assert call(client, f"rm_guess{number}", at=ISSUED).status_code == 401

        response = call(client, key, at=ISSUED + dt.timedelta(minutes=1))

        assert response.status_code == 429
        assert response.json() == {"detail": "接口令牌校验失败次数过多，请 14 分钟后再试。"}
        assert response["Retry-After"] == "840"
        assert ApiToken.objects.get().last_used_at is None

    def test_a_wrong_token_is_refused_in_chinese(self, client, city):
        response = call(client, "rm_guess", at=ISSUED)

        assert response.status_code == 401
        assert response.json() == {"detail": "接口令牌无效或已吊销。"}

    def test_a_request_without_a_token_is_refused_in_chinese(self, client, city):
        response = client.get(URL)

        assert response.status_code == 401
        assert response.json() == {
            "detail": "需要接口令牌：请在请求头中提供 Authorization: Bearer <接口令牌>。"
        }

    def test_other_addresses_are_not_affected(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        for number in range(20):
            call(client, f"rm_guess{number}", at=ISSUED)

        response = call(client, key, at=ISSUED, address=OTHER_HOST)

        assert response.status_code == 200

    def test_the_address_may_try_again_in_the_next_window(self, client, city):
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        for number in range(20):
            call(client, f"rm_guess{number}", at=ISSUED)

        response = call(client, key, at=ISSUED + dt.timedelta(minutes=15))

        assert response.status_code == 200

    def test_known_tokens_that_expired_do_not_count_as_guesses(self, client, city):
        old = api_token_create(user=city.south_clerk, name="旧脚本", now=ISSUED)
        key = api_token_create(
            user=city.south_clerk, name="营销系统接口", now=ISSUED + dt.timedelta(days=80)
        )
        late = ISSUED + dt.timedelta(days=91)
        statuses = {call(client, old, at=late).status_code for _ in range(25)}

        response = call(client, key, at=late)

        assert statuses == {401}
        assert response.status_code == 200

    def test_behind_a_trusted_proxy_the_forwarded_client_is_throttled(self, client, city, settings):
        settings.REFMETER_TRUSTED_PROXIES = ["10.0.0.0/8"]
        key = api_token_create(user=city.south_clerk, name="营销系统接口", now=ISSUED)
        for number in range(20):
            call(client, f"rm_guess{number}", at=ISSUED, address=PROXY, forwarded=HOST)

        guesser = call(client, key, at=ISSUED, address=PROXY, forwarded=HOST)
        neighbour = call(client, key, at=ISSUED, address=PROXY, forwarded=OTHER_HOST)

        assert guesser.status_code == 429
        assert neighbour.status_code == 200
