from __future__ import annotations

import pytest
from django.urls import reverse

from refmeter.organisations.models import User

ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.20"
PROXY = "10.0.0.2"
RIGHT = "correct-horse-battery"


def attempt(client, username, password="wrong", *, address=ATTACKER, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        headers=headers,
    )


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.REFMETER_LOGIN_ADDRESS_FAILURE_LIMIT = 20
    settings.REFMETER_LOGIN_USERNAME_FAILURE_LIMIT = 30
    settings.REFMETER_TRUSTED_PROXIES = []


class TestLoginThrottling:
    def test_five_failures_lock_the_login_even_with_the_right_password(self, client, city):
        for _attempt in range(5):
            client.post(reverse("login"), {"username": "south_clerk", "password": "wrong"})

        response = client.post(
            reverse("login"), {"username": "south_clerk", "password": "correct-horse-battery"}
        )

        assert response.status_code == 429
        assert "登录失败次数过多" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_failed_login_says_so_in_chinese(self, client, city):
        response = client.post(reverse("login"), {"username": "south_clerk", "password": "wrong"})

        assert response.status_code == 200
        assert "请输入一个正确的用户名和密码。注意，两者都区分大小写。" in response.content.decode()


class TestOneUserNameFromOneAddress:
    def test_the_lock_holds_that_user_name_at_that_address_only(self, client, city):
        for _attempt in range(5):
            attempt(client, "south_clerk")

        locked = attempt(client, "south_clerk", RIGHT)
        elsewhere = attempt(client, "south_clerk", RIGHT, address=OFFICE)
        other_user = attempt(client, "north_clerk", RIGHT)

        assert locked.status_code == 429
        assert (elsewhere.status_code, other_user.status_code) == (302, 302)

    def test_one_address_alone_cannot_lock_a_user_name_for_everyone(self, client, city):
        for _attempt in range(40):
            attempt(client, "south_clerk")

        elsewhere = attempt(client, "south_clerk", RIGHT, address=OFFICE)

        assert elsewhere.status_code == 302
        assert client.session["_auth_user_id"] == str(city.south_clerk.pk)


class TestOneUserNameFromManyAddresses:
    def test_failures_from_several_addresses_lock_the_user_name_everywhere(self, client, city):
        for source in range(6):
            for _attempt in range(5):
                attempt(client, "south_clerk", address=f"192.0.2.{source + 1}")

        response = attempt(client, "south_clerk", RIGHT, address=OFFICE)

        assert response.status_code == 429
        assert "登录失败次数过多" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_fewer_failures_than_the_user_name_limit_leave_it_open(self, client, city):
        for source in range(5):
            for _attempt in range(5):
                attempt(client, "south_clerk", address=f"192.0.2.{source + 1}")
        attempt(client, "south_clerk", address="192.0.2.99")
        attempt(client, "south_clerk", address="192.0.2.99")
        attempt(client, "south_clerk", address="192.0.2.99")
        attempt(client, "south_clerk", address="192.0.2.99")

        response = attempt(client, "south_clerk", RIGHT, address=OFFICE)

        assert response.status_code == 302


class TestPasswordSpraying:
    def test_failures_across_user_names_lock_that_address(self, client, city):
        for number in range(20):
            attempt(client, f"guess{number}")

        sprayer = attempt(client, "south_clerk", RIGHT)
        elsewhere = attempt(client, "south_clerk", RIGHT, address=OFFICE)

        assert sprayer.status_code == 429
        assert elsewhere.status_code == 302

    def test_nineteen_failures_across_user_names_do_not(self, client, city):
        for number in range(19):
            attempt(client, f"guess{number}")

        response = attempt(client, "south_clerk", RIGHT)

        assert response.status_code == 302

    def test_a_successful_login_does_not_clear_the_failures_of_other_user_names(self, client, city):
        for number in range(19):
            attempt(client, f"guess{number}")
        attempt(client, "south_clerk", RIGHT)
        client.logout()

        attempt(client, "guess-last")
        response = attempt(client, "north_clerk", RIGHT)

        assert response.status_code == 429

    def test_a_successful_login_clears_that_user_names_failures_at_that_address(self, client, city):
        for _attempt in range(4):
            attempt(client, "south_clerk")
        attempt(client, "south_clerk", RIGHT)
        client.logout()

        for _attempt in range(4):
            attempt(client, "south_clerk")
        response = attempt(client, "south_clerk", RIGHT)

        assert response.status_code == 302


class TestClientAddressBehindProxies:
    def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(self, client, city):
        for number in range(20):
            attempt(client, f"guess{number}", address=PROXY, forwarded=f"192.0.2.{number + 1}")

        response = attempt(client, "south_clerk", RIGHT, address=PROXY, forwarded="192.0.2.200")

        assert response.status_code == 429

    def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(
        self, client, city, settings
    ):
        settings.REFMETER_TRUSTED_PROXIES = ["10.0.0.0/8"]
        for _attempt in range(5):
            attempt(client, "south_clerk", address=PROXY, forwarded=ATTACKER)

        attacker = attempt(client, "south_clerk", RIGHT, address=PROXY, forwarded=ATTACKER)
        colleague = attempt(client, "south_clerk", RIGHT, address=PROXY, forwarded=OFFICE)

        assert attacker.status_code == 429
        assert colleague.status_code == 302

    def test_an_address_written_by_the_client_itself_is_not_believed(self, client, city, settings):
        settings.REFMETER_TRUSTED_PROXIES = ["10.0.0.0/8"]
        for number in range(20):
            attempt(
                client, f"guess{number}", address=PROXY, forwarded=f"192.0.2.{number}, {ATTACKER}"
            )

        response = attempt(
            client, "south_clerk", RIGHT, address=PROXY, forwarded=f"192.0.2.250, {ATTACKER}"
        )

        assert response.status_code == 429
        assert not User.objects.filter(pk=city.south_clerk.pk, last_login__isnull=False).exists()
