from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refmeter.audit.models import AuditEntry
from refmeter.organisations.services import api_token_create
from refmeter.registry.models import Point, PointKind
from tests import factories


@pytest.fixture
def south_group(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
    )


def bearer(user) -> dict[str, str]:
    key = api_token_create(user=user, name="测试", now=timezone.now())
    return {"Authorization": f"Bearer {key}"}


class TestAuthentication:
    def test_a_request_without_a_token_is_refused(self, client, south_group):
        response = client.get("/api/v1/groups")

        assert response.status_code == 401

    def test_a_wrong_token_is_refused(self, client, south_group):
        response = client.get("/api/v1/groups", headers={"Authorization": "Bearer rm_nonsense"})

        assert response.status_code == 401

    def test_the_openapi_document_is_served(self, client, db):
        document = client.get("/api/v1/openapi.json").json()

        assert document["info"]["title"] == "refmeter API"
        assert "/api/v1/points/{point_id}" in document["paths"]


class TestReads:
    def test_groups_are_searched_within_the_users_units(self, client, city, south_group):
        factories.group(actor=city.north_admin, unit=city.north, place=city.north_place)

        body = client.get("/api/v1/groups", headers=bearer(city.south_clerk)).json()

        assert body["count"] == 1
        assert body["items"][0]["base_account_number"] == "1702000001"
        assert body["items"][0]["active_points"] == 3

    def test_the_points_of_a_group_are_paged(self, client, city, south_group):
        body = client.get(
            f"/api/v1/groups/{south_group.pk}/points?limit=2&offset=1",
            headers=bearer(city.south_clerk),
        ).json()

        assert body["count"] == 3
        assert [item["account_number"] for item in body["items"]] == ["1702000002", "1702000003"]

    def test_the_multiplier_and_point_days_of_a_period(self, client, city, south_group):
        body = client.get(
            f"/api/v1/groups/{south_group.pk}/multiplier"
            "?on_date=2026-02-10&period_start=2026-02-01&period_end=2026-03-01",
            headers=bearer(city.south_clerk),
        ).json()

        assert body["multiplier"] == 3
        assert body["point_days"] == 3 * 28

    def test_another_units_group_is_not_found(self, client, city, south_group):
        response = client.get(f"/api/v1/groups/{south_group.pk}", headers=bearer(city.north_clerk))

        assert response.status_code == 404
        assert response.json() == {"detail": "未找到该群组，或它不属于您所在单位及下属单位。"}

    def test_statistics(self, client, city, south_group):
        body = client.get("/api/v1/statistics", headers=bearer(city.south_clerk)).json()

        assert body["total"] == 3
        assert body["by_area"] == [
            {
                "area_number": "3310000001",
                "area": "测试0001#配",
                "points": 3,
                "customer": None,
                "device_type": None,
            }
        ]


class TestPointReadCost:
    def test_a_point_read_costs_two_queries_once_the_token_s_use_is_noted(
        self, client, city, south_group
    ):
        headers = bearer(city.south_clerk)
        point = Point.objects.get(group=south_group, account_number="1702000002")
        client.get(f"/api/v1/points/{point.pk}", headers=headers)  # notes the token's use

        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/points/{point.pk}", headers=headers)

        assert response.status_code == 200
        assert response.json()["account_number"] == "1702000002"
        assert response.json()["base_account_number"] == "1702000001"
        assert len(queries.captured_queries) == 2

    def test_another_units_point_is_not_found(self, client, city, south_group):
        point = Point.objects.get(group=south_group, kind=PointKind.BASE)

        response = client.get(f"/api/v1/points/{point.pk}", headers=bearer(city.north_clerk))

        assert response.status_code == 404
        assert response.json() == {"detail": "未找到该用电点，或它不属于您所在单位及下属单位。"}


class TestEdits:
    def test_a_patch_changes_the_point_and_is_audited(self, client, city, south_group):
        point = Point.objects.filter(group=south_group, kind=PointKind.SUB).first()

        response = client.patch(
            f"/api/v1/points/{point.pk}",
            data={"name": "南江枫林28幢移动机柜", "reason": "接口更正"},
            content_type="application/json",
            headers=bearer(city.south_clerk),
        )

        assert response.status_code == 200
        assert response.json()["name"] == "南江枫林28幢移动机柜"
        history = client.get(
            f"/api/v1/points/{point.pk}/history", headers=bearer(city.south_clerk)
        ).json()
        assert history[0]["changes"] == [["name", "虚拟子户0", "南江枫林28幢移动机柜"]]
        assert history[0]["reason"] == "接口更正"

    def test_a_bad_access_point_is_refused_with_the_reason(self, client, city, south_group):
        point = Point.objects.filter(group=south_group, kind=PointKind.SUB).first()

        response = client.patch(
            f"/api/v1/points/{point.pk}",
            data={"access_point_number": "3350300000", "reason": "更正"},
            content_type="application/json",
            headers=bearer(city.south_clerk),
        )

        assert response.status_code == 400
        assert response.json() == {"detail": "接入点编号应为 17 位数字，“3350300000”不是。"}
        point.refresh_from_db()
        assert point.access_point == city.south_place

    def test_another_units_user_cannot_patch(self, client, city, south_group):
        point = Point.objects.filter(group=south_group, kind=PointKind.SUB).first()

        response = client.patch(
            f"/api/v1/points/{point.pk}",
            data={"name": "越权", "reason": "x"},
            content_type="application/json",
            headers=bearer(city.north_clerk),
        )

        assert response.status_code == 404
        point.refresh_from_db()
        assert point.name == "虚拟子户0"
        assert not AuditEntry.objects.filter(action="point.update").exists()


class TestDocumentationPage:
    def test_the_api_docs_use_vendored_assets_only(self, client, db):
        page = client.get("/api/v1/docs").content.decode()

        assert "/static/ninja/swagger-ui-bundle.js" in page
        assert "cdn." not in page and "unpkg" not in page
