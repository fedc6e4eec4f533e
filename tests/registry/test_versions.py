"""Concurrent edits are detected: points and groups carry a version that every write raises,
and a save based on an older version is refused with what changed meanwhile."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from refmeter.audit.models import AuditEntry
from refmeter.registry.models import Group, Point, PointKind, PointStatus
from refmeter.registry.services import (
    UnableToSaveStaleEdit,
    group_close,
    group_update,
    point_update,
    sub_account_cancel,
)
from tests import factories
from tests.factories import NOW
from tests.registry.test_api import bearer

LATER = NOW + dt.timedelta(minutes=5)


@pytest.fixture
def group(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
    )


@pytest.fixture
def point(group):
    return Point.objects.filter(group=group, kind=PointKind.SUB).order_by("account_number")[0]


def rename(city, point, name: str, **kwargs) -> Point:
    return point_update(
        actor=city.south_admin, point_id=point.pk, now=NOW, reason="现场核实", name=name, **kwargs
    )


class TestVersionNumbers:
    def test_a_new_group_and_its_points_start_at_version_1(self, group):
        assert Group.objects.get(pk=group.pk).version == 1
        assert list(Point.objects.filter(group=group).values_list("version", flat=True)) == [
            1,
            1,
            1,
        ]

    def test_each_saved_change_of_a_point_raises_its_version_by_one(self, city, point):
        rename(city, point, "甲")
        sub_account_cancel(
            actor=city.south_admin, point_id=point.pk, active_to_date=dt.date(2026, 3, 1), now=NOW
        )

        point.refresh_from_db()
        assert point.version == 3

    def test_an_update_that_changes_nothing_keeps_the_version(self, city, point):
        rename(city, point, point.name)

        point.refresh_from_db()
        assert point.version == 1

    def test_a_group_update_raises_the_groups_version_and_not_its_points(self, city, group):
        group_update(
            actor=city.south_admin, group_id=group.pk, now=NOW, reason="换条码",
            meter_barcode="BAR-1",
        )  # fmt: skip

        assert Group.objects.get(pk=group.pk).version == 2
        assert set(Point.objects.filter(group=group).values_list("version", flat=True)) == {1}

    def test_closing_a_group_raises_the_version_of_the_group_and_of_each_open_point(
        self, city, group
    ):
        group_close(
            actor=city.south_admin, group_id=group.pk, closure_date=dt.date(2026, 6, 1), now=NOW
        )

        assert Group.objects.get(pk=group.pk).version == 2
        assert set(Point.objects.filter(group=group).values_list("version", flat=True)) == {2}


class TestStaleServiceWrites:
    def test_a_stale_point_update_is_refused_naming_who_changed_what_and_when(self, city, point):
        point_update(
            actor=city.south_admin, point_id=point.pk, now=NOW, reason="现场核实",
            name="甲", device_address="越城区城南街道9幢",
        )  # fmt: skip

        with pytest.raises(UnableToSaveStaleEdit) as refusal:
            point_update(
                actor=city.south_clerk, point_id=point.pk, now=LATER, reason="更正",
                name="乙", expected_version=1,
            )  # fmt: skip

        assert refusal.value.problems == [
            "用电点 1702000002 在您读取之后已被他人修改（您读取的是第 1 版，现为第 2 版），"
            "本次修改未保存。",
            "2026-11-01 17:00 测试系统管理员 修改信息：设备地址 “越城区城南街道0幢” → "
            "“越城区城南街道9幢”；户名 “虚拟子户0” → “甲”",
            "请核对以上修改后重新提交。",
        ]
        assert refusal.value.current_version == 2
        point.refresh_from_db()
        assert (point.name, point.version) == ("甲", 2)
        assert AuditEntry.objects.filter(action="point.update").count() == 1

    def test_a_current_version_is_saved(self, city, point):
        rename(city, point, "甲")

        saved = point_update(
            actor=city.south_clerk, point_id=point.pk, now=LATER, reason="更正",
            name="乙", expected_version=2,
        )  # fmt: skip

        assert (saved.name, saved.version) == ("乙", 3)

    def test_a_stale_group_update_is_refused_and_the_group_is_unchanged(self, city, group):
        group_update(
            actor=city.south_admin, group_id=group.pk, now=NOW, reason="换条码",
            meter_barcode="BAR-1",
        )  # fmt: skip

        with pytest.raises(UnableToSaveStaleEdit) as refusal:
            group_update(
                actor=city.south_admin, group_id=group.pk, now=LATER, reason="换条码",
                meter_barcode="BAR-2", expected_version=1,
            )  # fmt: skip

        assert refusal.value.problems[0] == (
            f"群组（参考表 {group.meter_asset_number}）在您读取之后已被他人修改"
            "（您读取的是第 1 版，现为第 2 版），本次修改未保存。"
        )
        assert refusal.value.problems[1] == (
            "2026-11-01 17:00 测试系统管理员 修改群组信息：电能表条码 “” → “BAR-1”"
        )
        group.refresh_from_db()
        assert (group.meter_barcode, group.version) == ("BAR-1", 2)

    def test_a_stale_cancel_is_refused_and_the_point_stays_active(self, city, point):
        rename(city, point, "甲")

        with pytest.raises(UnableToSaveStaleEdit):
            sub_account_cancel(
                actor=city.south_admin, point_id=point.pk, active_to_date=dt.date(2026, 3, 1),
                now=LATER, expected_version=1,
            )  # fmt: skip

        point.refresh_from_db()
        assert (point.status, point.active_to_date, point.version) == (
            PointStatus.ACTIVE,
            None,
            2,
        )
        assert not AuditEntry.objects.filter(action="point.cancel").exists()


class TestApi:
    def test_a_point_is_read_with_its_version_as_an_etag(self, client, city, point):
        rename(city, point, "甲")

        response = client.get(f"/api/v1/points/{point.pk}", headers=bearer(city.south_clerk))

        assert response.status_code == 200
        assert response.headers["ETag"] == '"2"'
        assert response.json()["version"] == 2

    def test_of_two_patches_with_the_same_if_match_one_is_saved_and_one_gets_412(
        self, client, city, point
    ):
        headers = {**bearer(city.south_clerk), "If-Match": '"1"'}

        first = client.patch(
            f"/api/v1/points/{point.pk}", data={"name": "甲", "reason": "接口更正"},
            content_type="application/json", headers=headers,
        )  # fmt: skip
        second = client.patch(
            f"/api/v1/points/{point.pk}", data={"name": "乙", "reason": "接口更正"},
            content_type="application/json", headers=headers,
        )  # fmt: skip

        assert (first.status_code, second.status_code) == (200, 412)
        assert first.headers["ETag"] == '"2"'
        assert second.headers["ETag"] == '"2"'
        saved = AuditEntry.objects.get(action="point.update")
        assert second.json() == {
            "detail": "用电点 1702000002 在您读取之后已被他人修改（您读取的是第 1 版，现为第 2 版），"
            "本次修改未保存。\n"
            f"{timezone.localtime(saved.occurred_at):%Y-%m-%d %H:%M} 测试受理员 修改信息："
            "户名 “虚拟子户0” → “甲”\n"
            "请核对以上修改后重新提交。"
        }
        point.refresh_from_db()
        assert (point.name, point.version) == ("甲", 2)
        assert AuditEntry.objects.filter(action="point.update").count() == 1

    def test_a_patch_with_a_tag_of_no_version_gets_412_and_changes_nothing(
        self, client, city, point
    ):
        response = client.patch(
            f"/api/v1/points/{point.pk}", data={"name": "甲", "reason": "接口更正"},
            content_type="application/json",
            headers={**bearer(city.south_clerk), "If-Match": 'W/"1"'},
        )  # fmt: skip

        assert response.status_code == 412
        assert response.json() == {
            "detail": 'If-Match 须为本接口返回的 ETag（例如 "1"），弱标记 W/ 不能用于修改。'
        }
        point.refresh_from_db()
        assert (point.name, point.version) == ("虚拟子户0", 1)

    def test_a_patch_without_if_match_is_applied_to_the_current_version(self, client, city, point):
        rename(city, point, "甲")

        response = client.patch(
            f"/api/v1/points/{point.pk}", data={"name": "乙", "reason": "接口更正"},
            content_type="application/json", headers=bearer(city.south_clerk),
        )  # fmt: skip

        assert response.status_code == 200
        assert response.headers["ETag"] == '"3"'

    def test_if_match_star_matches_any_version(self, client, city, point):
        rename(city, point, "甲")

        response = client.patch(
            f"/api/v1/points/{point.pk}", data={"name": "乙", "reason": "接口更正"},
            content_type="application/json", headers={**bearer(city.south_clerk), "If-Match": "*"},
        )  # fmt: skip

        assert response.status_code == 200
        assert response.json()["version"] == 3

    def test_the_openapi_document_shows_the_etag_the_if_match_header_and_the_412(self, client, db):
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        patch = paths["/api/v1/points/{point_id}"]["patch"]
        get = paths["/api/v1/points/{point_id}"]["get"]
        assert [
            (parameter["name"], parameter["in"], parameter["required"])
            for parameter in patch["parameters"]
            if parameter["in"] == "header"
        ] == [("If-Match", "header", False)]
        assert set(patch["responses"]) == {"200", "400", "401", "403", "404", "412", "422"}
        assert "ETag" in patch["responses"]["200"]["headers"]
        assert "ETag" in get["responses"]["200"]["headers"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
class TestSimultaneousPatches:
    def test_of_twenty_patches_with_the_same_version_exactly_one_is_saved(self, city, point):
        headers = {**bearer(city.south_clerk), "If-Match": '"1"'}
        barrier = threading.Barrier(20)
        statuses: list[int] = [0] * 20

        def patch(index: int) -> None:
            from django.db import connections

            try:
                barrier.wait()
                statuses[index] = (
                    Client()
                    .patch(
                        f"/api/v1/points/{point.pk}",
                        data={"name": f"并发{index}", "reason": "并发测试"},
                        content_type="application/json",
                        headers=headers,
                    )
                    .status_code
                )
            finally:
                connections.close_all()

        threads = [threading.Thread(target=patch, args=(index,)) for index in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(statuses) == [200] + [412] * 19
        winner = statuses.index(200)
        point.refresh_from_db()
        assert (point.name, point.version) == (f"并发{winner}", 2)
        assert AuditEntry.objects.filter(action="point.update").count() == 1


class TestPointEditPage:
    def post(self, client, point, version):
        return client.post(
            reverse("registry:point_detail", args=[point.pk]),
            {
                "name": "城南新村56幢电信车库",
                "device_address": "越城区城南街道城南新村56幢",
                "area_number": point.area.number,
                "access_point_number": point.access_point.number,
                "reason": "现场核实",
                "version": version,
            },
        )

    def test_the_form_carries_the_version_it_was_read_at(self, client, city, point):
        rename(city, point, "甲")
        client.force_login(city.south_clerk)

        page = client.get(reverse("registry:point_detail", args=[point.pk])).content.decode()

        assert '<input type="hidden" name="version" value="2"' in page

    def test_a_stale_save_is_refused_the_input_kept_and_the_changes_meanwhile_listed(
        self, client, city, point
    ):
        rename(city, point, "甲")
        client.force_login(city.south_clerk)

        response = self.post(client, point, 1)

        page = response.content.decode()
        assert response.status_code == 409
        assert (
            "用电点 1702000002 在您读取之后已被他人修改（您读取的是第 1 版，现为第 2 版）" in page
        )
        assert 'value="城南新村56幢电信车库"' in page
        assert 'value="越城区城南街道城南新村56幢"' in page
        assert '<input type="hidden" name="version" value="2"' in page
        assert (
            '<li data-testid="meanwhile">2026-11-01 17:00 测试系统管理员 修改信息：'
            "户名 “虚拟子户0” → “甲”</li>"
        ) in page
        point.refresh_from_db()
        assert (point.name, point.device_address, point.version) == (
            "甲",
            "越城区城南街道0幢",
            2,
        )
        assert AuditEntry.objects.filter(action="point.update").count() == 1

    def test_after_seeing_the_changes_the_user_saves_again(self, client, city, point):
        rename(city, point, "甲")
        client.force_login(city.south_clerk)
        self.post(client, point, 1)

        response = self.post(client, point, 2)

        assert response.status_code == 302
        point.refresh_from_db()
        assert (point.name, point.version) == ("城南新村56幢电信车库", 3)


class TestGroupTermsPage:
    def test_a_stale_terms_change_is_refused_with_the_input_kept(self, client, city, group):
        group_update(
            actor=city.south_admin, group_id=group.pk, now=NOW, reason="换条码",
            meter_barcode="BAR-1",
        )  # fmt: skip
        client.force_login(city.south_admin)

        response = client.post(
            reverse("registry:group_terms", args=[group.pk]),
            {"ct_ratio": 5, "tariff_code": "LV-B", "from_date": "2026-10-01",
             "reason": "换互感器", "version": 1},
        )  # fmt: skip

        page = response.content.decode()
        assert response.status_code == 409
        assert "修改群组信息：电能表条码 “” → “BAR-1”" in page
        assert 'value="LV-B"' in page
        group.refresh_from_db()
        assert (group.ct_ratio, group.tariff_code, group.version) == (1, "", 2)
