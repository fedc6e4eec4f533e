"""The filters that render the group page's long lists show what the template code they
replaced showed."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from refmeter.registry.selectors import PointRow

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


def point(number: int, **changes) -> PointRow:
    values = {
        "point_id": number,
        "group_id": 7,
        "kind": "sub",
        "kind_label": "虚拟子户",
        "account_number": f"17020000{number:02d}",
        "name": "城南<机柜>",
        "device_address": "越城区 & 城南街道",
        "nearby_number": "",
        "access_point_number": "33503000009083788",
        "access_point_name": "接入点3788",
        "area_number": "3310000001",
        "area_name": "城南1#",
        "status": "active",
        "status_label": "在用",
        "active_from_date": dt.date(2026, 3, 1),
        "active_to_date": None,
        "base_account_number": "1702000001",
        "version": 1,
    }
    return PointRow(**{**values, **changes})


class TestPointRows:
    def test_shows_what_the_template_loop_showed(self):
        points = [point(2), point(3, access_point_number="", access_point_name="", area_number="",
                                   area_name="", active_to_date=dt.date(2026, 5, 1))]  # fmt: skip
        by_loop = render(
            "{% for point in points %}<tr>"
            "<td><a href=\"{% url 'registry:point_detail' point.point_id %}\">"
            "{{ point.account_number }}</a></td>"
            "<td>{{ point.name }}</td><td>{{ point.device_address }}</td>"
            "<td>{{ point.nearby_number }}</td>"
            "<td>{{ point.access_point_number }}<br><small>{{ point.access_point_name }}</small></td>"
            "<td>{{ point.area_number }}<br><small>{{ point.area_name }}</small></td>"
            "<td>{{ point.kind_label }}</td><td>{{ point.status_label }}</td>"
            '<td>{{ point.active_from_date|date:"Y-m-d" }}</td>'
            '<td>{{ point.active_to_date|date:"Y-m-d" }}</td></tr>{% endfor %}',
            points=points,
        )

        by_filter = render("{% load registry_pages %}{{ points|point_rows }}", points=points)

        assert re.sub(r">\s+<", "><", by_filter).strip() == by_loop
        assert "城南&lt;机柜&gt;" in by_filter
        assert '<a href="/points/2/">1702000002</a>' in by_filter
