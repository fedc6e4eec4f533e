from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.registry.models import Point, PointKind
from tests import factories


def queries_for(client, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response


class TestLogin:
    def test_an_anonymous_visitor_is_sent_to_the_login_page(self, client, city):
        response = client.get(reverse("registry:group_search"))

        assert response.status_code == 302
        assert response["Location"].startswith("/login/")

    def test_a_clerk_logs_in_with_the_form(self, client, city):
        response = client.post(
            reverse("login"), {"username": "south_clerk", "password": "correct-horse-battery"}
        )

        assert response.status_code == 302
        assert client.get(reverse("registry:group_search")).status_code == 200


class TestGroupSearch:
    def test_finds_base_accounts_by_customer_and_shows_only_the_users_units(self, client, city):
        south = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        factories.group(actor=city.north_admin, unit=city.north, place=city.north_place)
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_search"), {"customer": "中国移动"})

        rows = response.context["rows"]
        assert [row.group_id for row in rows] == [south.pk]
        assert rows[0].base_account_number == "1702000001"

    def test_finds_by_address_and_creation_date(self, client, city):
        early = factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            active_from=dt.date(2014, 5, 1),
        )
        factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            active_from=dt.date(2019, 5, 1),
        )
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_search"),
            {"address": "城南街道", "created_from": "2014-01-01", "created_to": "2014-12-31"},
        )

        assert [row.group_id for row in response.context["rows"]] == [early.pk]

    def test_an_inverted_date_range_is_an_error_not_every_group(self, client, city):
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        client.force_login(city.south_clerk)

        response = client.get(
            reverse("registry:group_search"),
            {"created_from": "2020-01-01", "created_to": "2019-01-01", "customer": "移动"},
        )
        page = response.content.decode()

        assert response.status_code == 400
        assert response.context["rows"] == []
        assert "立户日期从（2020-01-01）晚于立户日期至（2019-01-01），请改正日期范围。" in page
        assert 'name="customer" value="移动"' in page

    def test_sorts_by_creation_date_either_way_with_the_total(self, client, city):
        dates = [dt.date(2019, 5, 1), dt.date(2014, 5, 1), dt.date(2016, 5, 1)]
        made = {
            day: factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place, active_from=day
            ).pk
            for day in dates
        }
        client.force_login(city.south_clerk)

        rising = client.get(reverse("registry:group_search"), {"sort": "created"})
        falling = client.get(reverse("registry:group_search"), {"sort": "-created"})

        assert [row.group_id for row in rising.context["rows"]] == [made[d] for d in sorted(dates)]
        assert [row.group_id for row in falling.context["rows"]] == [
            made[d] for d in sorted(dates, reverse=True)
        ]
        assert "共 3 条" in rising.content.decode()

    def test_the_list_costs_the_same_queries_for_1_or_30_groups(self, client, city):
        client.force_login(city.south_clerk)
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        few, _ = queries_for(client, reverse("registry:group_search"))
        for _index in range(29):
            factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
            )

        many, response = queries_for(client, reverse("registry:group_search"))

        assert len(response.context["rows"]) == 30
        assert many == few


class TestGroupDetail:
    def test_the_page_costs_the_same_queries_for_5_or_60_points(self, client, city):
        small = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=4
        )
        large = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=59
        )
        client.force_login(city.south_clerk)

        few, small_page = queries_for(client, reverse("registry:group_detail", args=[small.pk]))
        many, large_page = queries_for(client, reverse("registry:group_detail", args=[large.pk]))

        assert len(small_page.context["points"]) == 5
        assert len(large_page.context["points"]) == 50
        assert many == few == 9

    def test_the_second_page_costs_the_same_and_shows_the_rest(self, client, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=59
        )
        client.force_login(city.south_clerk)

        count, page = queries_for(
            client, reverse("registry:group_detail", args=[group.pk]) + "?page=2"
        )

        assert count == 9
        assert [point.account_number for point in page.context["points"]] == [
            f"17020000{number}" for number in range(51, 61)
        ]
        assert {point.base_account_number for point in page.context["points"]} == {"1702000001"}
        assert page.context["group"].multiplier == 60

    def test_the_history_shows_the_newest_ten_changes(self, client, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=59
        )
        client.force_login(city.south_clerk)
        newest = list(
            AuditEntry.objects.filter(parent_type="group", parent_id=group.pk)
            .order_by("-occurred_at", "-id")
            .values_list("subject_label", flat=True)[:3]
        )

        history = client.get(reverse("registry:group_detail", args=[group.pk])).context["history"]

        assert len(history) == 10
        assert [line.subject_label for line in history[:3]] == newest

    def test_shows_the_multiplier_of_today(self, client, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3
        )
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_detail", args=[group.pk]))

        assert response.context["group"].multiplier == 4
        assert '<strong data-testid="multiplier">4</strong>' in response.content.decode()

    def test_another_units_group_is_refused_with_a_clear_message(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        client.force_login(city.north_clerk)

        response = client.get(reverse("registry:group_detail", args=[group.pk]))

        assert response.status_code == 404
        assert "未找到该群组，或它不属于您所在单位及下属单位。" in response.content.decode()

    def test_the_export_holds_every_point_of_the_group(self, client, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
        )
        client.force_login(city.south_clerk)

        response = client.get(reverse("registry:group_export", args=[group.pk]))

        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:4] == ("序号", "户号", "户名", "设备地址")
        assert [row[1] for row in rows[1:]] == ["1702000001", "1702000002", "1702000003"]
        assert rows[2][5:8] == ("33503000009083788", "接入点3788", "3310000001")
        assert {row[13] for row in rows[1:]} == {"1702000001"}


class TestPointEdit:
    @pytest.fixture
    def point(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        return Point.objects.get(group=group, kind=PointKind.SUB)

    def test_an_edit_saves_and_shows_in_the_history(self, client, city, point):
        client.force_login(city.south_clerk)
        url = reverse("registry:point_detail", args=[point.pk])

        response = client.post(
            url,
            {
                "name": "城南新村56幢电信车库",
                "device_address": "越城区城南街道城南新村56幢",
                "area_number": city.south_other_area.number,
                "access_point_number": city.south_other_place.number,
                "reason": "现场核实",
            },
        )

        assert response.status_code == 302
        page = client.get(url).content.decode()
        assert "虚拟子户0 → 城南新村56幢电信车库" in page
        assert "现场核实" in page
        point.refresh_from_db()
        assert point.area == city.south_other_area

    def test_a_wrong_access_point_is_shown_as_an_error_and_nothing_changes(
        self, client, city, point
    ):
        client.force_login(city.south_clerk)

        response = client.post(
            reverse("registry:point_detail", args=[point.pk]),
            {
                "name": "改名",
                "device_address": "地址",
                "area_number": "",
                "access_point_number": "123",
                "reason": "更正",
            },
        )

        assert response.status_code == 400
        assert "接入点编号应为 17 位数字，“123”不是。" in response.content.decode()
        point.refresh_from_db()
        assert point.name == "虚拟子户0"
        assert not AuditEntry.objects.filter(action="point.update").exists()

    def test_a_user_of_another_unit_cannot_edit_through_the_page(self, client, city, point):
        client.force_login(city.north_clerk)

        response = client.post(
            reverse("registry:point_detail", args=[point.pk]),
            {"name": "越权", "device_address": "x", "reason": "x"},
        )

        assert response.status_code == 404
        assert "不属于您所在单位及下属单位" in response.content.decode()
        point.refresh_from_db()
        assert point.name == "虚拟子户0"


class TestStatistics:
    def test_counts_active_points_per_customer_device_type_and_area(self, client, city):
        factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3
        )
        factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_other_place, sub_accounts=1
        )
        client.force_login(city.south_clerk)

        stats = client.get(reverse("registry:statistics")).context["stats"]

        assert stats.total == 6
        assert sorted(row["points"] for row in stats.by_customer) == [2, 4]
        assert [(row["area_number"], row["points"]) for row in stats.by_area] == [
            ("3310000001", 4),
            ("3310000002", 2),
        ]


class TestLanguage:
    def test_pages_speak_chinese_by_default_and_english_when_chosen(self, client, city):
        client.force_login(city.south_clerk)

        chinese = client.get(reverse("registry:group_search")).content.decode()
        client.post(reverse("set_language"), {"language": "en", "next": "/"})
        english = client.get(reverse("registry:group_search")).content.decode()

        assert "基准户查询" in chinese
        assert "Base account search" in english
        assert "基准户查询" not in english


class TestDefaultLanguage:
    def test_an_english_browser_still_gets_chinese_until_english_is_chosen(self, client, city):
        client.force_login(city.south_clerk)

        page = client.get(reverse("registry:group_search"), headers={"Accept-Language": "en-US,en"})

        assert "基准户查询" in page.content.decode()
