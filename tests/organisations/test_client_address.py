from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from refmeter.organisations.network import client_address

PROXIES = ["10.0.0.0/8", "192.168.1.5"]


class TestClientAddress:
    @pytest.mark.parametrize(
        ("remote", "forwarded", "trusted", "expected"),
        [
            ("203.0.113.9", None, [], "203.0.113.9"),
            ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),
            ("10.0.0.2", "1.2.3.4", [], "10.0.0.2"),
            ("10.0.0.2", "1.2.3.4", PROXIES, "1.2.3.4"),
            ("10.0.0.2", "9.9.9.9, 1.2.3.4", PROXIES, "1.2.3.4"),
            ("10.0.0.2", "9.9.9.9, 1.2.3.4, 192.168.1.5", PROXIES, "1.2.3.4"),
            ("192.168.1.5", "1.2.3.4,10.1.1.1", PROXIES, "1.2.3.4"),
            ("10.0.0.2", "", PROXIES, "10.0.0.2"),
            ("10.0.0.2", "10.0.0.3", PROXIES, "10.0.0.3"),
            ("10.0.0.2", "not-an-address", PROXIES, "10.0.0.2"),
            ("10.0.0.2", "1.2.3.4, rubbish", PROXIES, "10.0.0.2"),
            ("203.0.113.9", "1.2.3.4", PROXIES, "203.0.113.9"),
            ("10.0.0.2", "2001:DB8:0::1", PROXIES, "2001:db8::1"),
        ],
    )
    def test_forwarded_for_is_believed_only_from_trusted_proxies(
        self, settings, remote, forwarded, trusted, expected
    ):
        settings.REFMETER_TRUSTED_PROXIES = trusted
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        request = RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)

        assert client_address(request) == expected

    def test_a_wrong_proxy_setting_is_refused(self, settings):
        settings.REFMETER_TRUSTED_PROXIES = ["10.0.0.0/33"]
        request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")

        with pytest.raises(ImproperlyConfigured, match="REFMETER_TRUSTED_PROXIES"):
            client_address(request)
