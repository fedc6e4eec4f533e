"""The change history on the group page: paged apart from the points, filtered, sorted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from tests import factories


def _entries(group, *, newest_first: bool = True) -> list[tuple[str, str]]:
    order = ("-occurred_at", "-id") if newest_first else ("occurred_at", "id")
    return list(
        AuditEntry.objects.filter(
            Q(parent_type="group", parent_id=group.pk)
            | Q(subject_type="group", subject_id=group.pk)
        )
        .order_by(*order)
        .values_list("subject_label", "action")
    )


def _shown(response) -> list[str]:
    return [line.subject_label for line in response.context["history"]]


@pytest.fixture
def big(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=29
    )


@pytest.fixture
def clerk(client, city):
    client.force_login(city.south_clerk)
    return client


class TestPaging:
    def test_ten_a_page_with_the_total_and_the_points_page_kept(self, clerk, big):
        every = _entries(big)

        first = clerk.get(reverse("registry:group_detail", args=[big.pk]))
        second = clerk.get(
            reverse("registry:group_detail", args=[big.pk]), {"page": "1", "history_page": "2"}
        )

        assert _shown(first) == [label for label, _action in every[:10]]
        assert _shown(second) == [label for label, _action in every[10:20]]
        html = first.content.decode()
        assert f"共 {len(every)} 条，显示第 1–10 条" in html
        assert 'href="?history_page=2#history"' in html
        assert 'href="?page=1&amp;history_page=1#history" rel="prev"' in second.content.decode()

    def test_the_same_queries_for_a_short_or_a_long_history(self, clerk, city, big):
        small = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        clerk.get(reverse("registry:group_detail", args=[small.pk]))
        with CaptureQueriesContext(connection) as few:
            clerk.get(reverse("registry:group_detail", args=[small.pk]))

        with CaptureQueriesContext(connection) as many:
            response = clerk.get(reverse("registry:group_detail", args=[big.pk]))

        assert response.context["history_listing"].total > 10
        assert len(many.captured_queries) == len(few.captured_queries)


class TestSortingAndFiltering:
    def test_oldest_first(self, clerk, big):
        response = clerk.get(
            reverse("registry:group_detail", args=[big.pk]), {"history_sort": "time"}
        )

        assert _shown(response) == [label for label, _a in _entries(big, newest_first=False)[:10]]

    def test_by_action(self, clerk, big):
        response = clerk.get(
            reverse("registry:group_detail", args=[big.pk]), {"history_action": "group.create"}
        )

        assert [line.action for line in response.context["history"]] == ["立户"]
        assert "共 1 条" in response.content.decode()

    def test_by_dates_outside_the_changes(self, clerk, big):
        response = clerk.get(
            reverse("registry:group_detail", args=[big.pk]),
            {"history_from": "2030-01-01", "history_to": "2030-12-31"},
        )

        assert _shown(response) == []
        assert "暂无记录。" in response.content.decode()

    def test_an_inverted_date_range_is_an_error_not_an_empty_history(self, clerk, big):
        response = clerk.get(
            reverse("registry:group_detail", args=[big.pk]),
            {"history_from": "2026-11-02", "history_to": "2026-11-01"},
        )

        assert response.status_code == 200
        assert "变更日期从（2026-11-02）晚于变更日期至（2026-11-01），请改正日期范围。" in (
            response.content.decode()
        )

    def test_an_unknown_sort_falls_back_to_newest_first_and_says_so(self, clerk, big):
        response = clerk.get(
            reverse("registry:group_detail", args=[big.pk]), {"history_sort": "actor"}
        )

        assert _shown(response) == [label for label, _action in _entries(big)[:10]]
        assert "不能按“actor”排序，已按默认顺序显示。" in response.content.decode()
