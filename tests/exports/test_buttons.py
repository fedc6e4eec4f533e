"""Each list page offers its export, carrying the page's filters and sort."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from django.http import QueryDict
from django.urls import reverse

from refmeter.inspections.services import inspection_plan_create
from refmeter.organisations.models import Role
from tests import factories


def _links(response) -> str:
    assert response.status_code == 200
    return unescape(response.content.decode())


@pytest.fixture
def group(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
    )


class TestExportButtons:
    @pytest.mark.parametrize(
        ("page", "export", "query"),
        [
            ("workorders:list", "workorders:list_export", "view=open&text=客户&sort=customer"),
            ("anomalies:list", "anomalies:list_export", "status=open&kind=stopped&sort=-raised"),
            (
                "registry:group_search",
                "registry:group_search_export",
                "customer=移动&sort=-created",
            ),
        ],
    )
    def test_a_filtered_list_links_its_export_with_the_query(
        self, client, city, page, export, query
    ):
        client.force_login(city.south_admin)

        response = client.get(f"{reverse(page)}?{query}")

        assert f'href="{reverse(export)}?{QueryDict(query).urlencode()}"' in _links(response)

    @pytest.mark.parametrize(
        ("page", "export"),
        [
            ("workorders:deadlines", "workorders:deadlines_export"),
            ("registry:statistics", "registry:statistics_export"),
            ("inspections:plans", "inspections:plans_export"),
            ("billing:runs", "billing:runs_export"),
        ],
    )
    def test_a_list_without_filters_links_its_export(self, client, city, page, export):
        client.force_login(city.south_admin)

        response = client.get(reverse(page))

        assert f'href="{reverse(export)}"' in _links(response)

    def test_the_back_billings_link_their_export_with_the_tab(self, client, city):
        client.force_login(factories.user(unit=city.south, role=Role.BILLING))

        response = client.get(reverse("billing:back_billings"), {"status": "approved"})

        assert f'href="{reverse("billing:back_billings_export")}?status=approved"' in _links(
            response
        )

    def test_a_plan_links_its_points_export_with_the_filters(self, client, city, group):
        plan = inspection_plan_create(
            actor=factories.user(unit=city.south, role=Role.FIELD_STAFF), unit=city.south,
            period_start=dt.date(2026, 7, 1), now=factories.NOW, seed=7,
        )  # fmt: skip
        client.force_login(city.south_clerk)

        response = client.get(reverse("inspections:plan", args=[plan.pk]), {"state": "pending"})

        export = reverse("inspections:plan_export", args=[plan.pk])
        assert f'href="{export}?state=pending"' in _links(response)

    def test_the_group_page_links_its_history_export_with_the_filters(self, client, city, group):
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_detail", args=[group.pk]), {"history_action": "group.create"}
        )

        export = reverse("registry:group_history_export", args=[group.pk])
        assert f'href="{export}?history_action=group.create"' in _links(response)
