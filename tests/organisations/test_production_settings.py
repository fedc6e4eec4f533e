from __future__ import annotations

import os
import subprocess
import sys

import pytest

GOOD = {
    "REFMETER_ENV": "production",
    "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": "refmeter.example.internal",
    "DATABASE_URL": "postgres://refmeter@127.0.0.1:5432/refmeter",
    "DEBUG": "false",
}


def start(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "REFMETER_ENV"}
    }
    env.update(environment)
    env["DJANGO_SETTINGS_MODULE"] = "refmeter.settings"
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS > 0)",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


class TestProductionMode:
    def test_starts_with_a_real_secret_hosts_and_debug_off(self):
        result = start(GOOD)

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True True"

    @pytest.mark.parametrize(
        ("override", "complaint"),
        [
            ({"DEBUG": "true"}, "DEBUG must be off"),
            ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
            (
                {"SECRET_KEY": "refmeter-development-secret-do-not-use-in-production"},
                "SECRET_KEY must be set",
            ),
            ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must name the hosts"),
        ],
    )
    def test_refuses_to_start_when_unsafe(self, override, complaint):
        result = start({**GOOD, **override})

        assert result.returncode != 0
        assert "refmeter refuses to start in production" in result.stderr
        assert complaint in result.stderr


class TestSecuritySettings:
    @pytest.mark.parametrize(
        ("override", "complaint"),
        [
            (
                {"REFMETER_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example.internal"},
                "REFMETER_TRUSTED_PROXIES must list IP addresses or networks",
            ),
            ({"REFMETER_SCAN_RATE_LIMIT": "0"}, "REFMETER_SCAN_RATE_LIMIT must be at least 1"),
            ({"REFMETER_API_TOKEN_DAYS": "-1"}, "REFMETER_API_TOKEN_DAYS must be at least 1"),
        ],
    )
    def test_a_wrong_limit_or_proxy_list_refuses_to_start(self, override, complaint):
        result = start({**GOOD, **override})

        assert result.returncode != 0
        assert complaint in result.stderr

    def test_trusted_proxies_are_read_from_the_environment(self):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.conf import settings;"
                " print(settings.REFMETER_TRUSTED_PROXIES)",
            ],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "refmeter.settings",
                "REFMETER_TRUSTED_PROXIES": " 10.0.0.0/8 , 192.168.1.5",
            },
            check=False,
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "['10.0.0.0/8', '192.168.1.5']"


class TestSecurityHeaders:
    def test_pages_carry_the_usual_security_headers(self, client, db):
        response = client.get("/login/")

        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
