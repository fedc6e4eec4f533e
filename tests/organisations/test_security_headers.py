from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

import refmeter
from refmeter.organisations.services import api_token_create

PACKAGE = Path(refmeter.__file__).resolve().parent
TEMPLATES = sorted(PACKAGE.glob("**/templates/**/*.html"))


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


class TestContentSecurityPolicy:
    def test_pages_run_scripts_from_this_site_only(self, client, db):
        response = client.get(reverse("login"))

        policy = directives(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert (
            "'unsafe-inline'" not in response["Content-Security-Policy"].split("style-src-attr")[0]
        )
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]

    def test_the_api_and_the_scan_page_carry_it_too(self, client, db):
        api = client.get("/api/v1/openapi.json")
        scan = client.get(reverse("labels:scan", args=["not-a-label"]))

        assert api["Content-Security-Policy"] == scan["Content-Security-Policy"]
        assert "script-src 'self'" in scan["Content-Security-Policy"]

    def test_pages_do_not_ask_for_camera_microphone_or_payment(self, client, db):
        response = client.get(reverse("login"))

        features = dict(
            item.strip().split("=", 1) for item in response["Permissions-Policy"].split(",")
        )
        for feature in ("camera", "microphone", "payment", "usb"):
            assert features[feature] == "()"

    def test_only_this_sites_pages_may_ask_for_the_position(self, client, db):
        # the inspection form's position button
        response = client.get(reverse("login"))

        features = dict(
            item.strip().split("=", 1) for item in response["Permissions-Policy"].split(",")
        )
        assert features["geolocation"] == "(self)"

    def test_htmx_is_told_not_to_evaluate_code_or_inject_styles(self, client, db):
        html = client.get(reverse("login")).content.decode()

        assert (
            '<meta name="htmx-config" content=\'{"allowEval": false, '
            '"includeIndicatorStyles": false}\'>'
        ) in html


class TestNoInlineScripts:
    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(PACKAGE)))
    def test_templates_have_no_inline_script_or_event_handler(self, template):
        html = template.read_text(encoding="utf-8")

        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
        inline = [
            attributes
            for attributes, body in scripts
            if "src=" not in attributes
            and 'type="application/json"' not in attributes
            and body.strip()
        ]
        handlers = re.findall(r"\son[a-z]+\s*=", html, flags=re.I)
        assert (inline, handlers, "javascript:" in html) == ([], [], False)

    def test_the_scripts_the_templates_load_are_vendored(self):
        for name in ("refmeter/refmeter.js", "refmeter/charts.js"):
            assert finders.find(name), name


class TestCaching:
    def test_pages_for_a_logged_in_user_are_not_stored(self, client, city):
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_search"))

        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]

    def test_api_answers_to_a_token_are_not_stored(self, client, city):
        key = api_token_create(user=city.south_clerk, name="测试", now=timezone.now())

        response = client.get("/api/v1/statistics", headers={"Authorization": f"Bearer {key}"})

        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
