"""The filters that render the group page's long lists show what the template code they
replaced showed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

CHANGES = [
    ("户名", "旧<名>", "新 & 名"),
    ("状态", None, "在用"),
    ("数量", 0, 12345),
    ("标志", False, True),
    ("倍率", Decimal("1.50"), 2.5),
    ("清单", ["a", "<b>"], {"k": "v"}),
    ("空", "", "  "),
]


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


class TestAuditChanges:
    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    def test_shows_what_the_template_loop_showed(self, language):
        with translation.override(language):
            by_loop = render(
                "{% for field, before, after in changes %}"
                '<div><span class="field">{{ field }}</span>： {{ before|default:"—" }} → '
                '{{ after|default:"—" }}</div>{% endfor %}',
                changes=CHANGES,
            )
            by_filter = render(
                "{% load registry_pages %}{{ changes|audit_changes }}", changes=CHANGES
            )

        assert by_filter == by_loop
        assert "旧&lt;名&gt;" in by_filter


class TestIsoDate:
    @pytest.mark.parametrize("value", [dt.date(2026, 3, 1), dt.date(987, 12, 31), None, ""])
    def test_shows_what_the_date_filter_showed(self, value):
        by_date = render('{{ value|date:"Y-m-d" }}', value=value)

        by_iso = render("{% load registry_pages %}{{ value|iso_date }}", value=value)

        assert by_iso == by_date
