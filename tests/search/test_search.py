from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ROLES_FOR_ACTION, Action, ActionNotAllowed
from refmeter.registry.models import Group, Point, PointKind
from refmeter.search.selectors import UnusableSearch, registry_search
from tests import factories


@pytest.fixture
def groups(city):
    """A south group with three sub-accounts at 南江枫林, and a north group."""
    customer = factories.customer(
        actor=city.south_admin, unit=city.south, name="中国移动绍兴分公司"
    )
    south = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3,
        customer_record=customer,
    )  # fmt: skip
    Group.objects.filter(pk=south.pk).update(meter_barcode="BAR0001")
    Point.objects.filter(group=south, kind=PointKind.SUB).update(
        device_address="越城区南江枫林小区28幢2单元"
    )
    north = factories.group(actor=city.north_admin, unit=city.north, place=city.north_place)
    Point.objects.filter(group=north).update(device_address="越城区南江枫林小区30幢")
    south.refresh_from_db()
    return south, north


def _numbers(result, kind):
    found = [k for k in result.kinds if k.kind == kind]
    return [hit.title for hit in found[0].hits] if found else []


def _subs(group):
    return list(
        Point.objects.filter(group=group, kind=PointKind.SUB)
        .order_by("account_number")
        .values_list("account_number", flat=True)
    )


class TestNumbers:
    def test_a_sub_account_number_finds_that_point(self, city, groups):
        south, _north = groups
        number = _subs(south)[1]

        result = registry_search(user=city.south_clerk, text=number)

        assert _numbers(result, "point") == [number]
        assert [kind.kind for kind in result.kinds] == ["point"]

    def test_a_base_account_number_finds_the_point_and_its_group(self, city, groups):
        south, _north = groups
        base = Point.objects.get(group=south, kind=PointKind.BASE).account_number

        result = registry_search(user=city.south_clerk, text=base)

        assert _numbers(result, "point") == [base]
        assert _numbers(result, "group") == [base]
        group_hit = next(k for k in result.kinds if k.kind == "group").hits[0]
        assert group_hit.url == reverse("registry:group_detail", args=[south.pk])

    def test_a_prefix_finds_every_point_starting_with_it_in_order(self, city, groups):
        south, _north = groups
        every = sorted(Point.objects.filter(group=south).values_list("account_number", flat=True))
        prefix = every[0][:6]
        expected = [number for number in every if number.startswith(prefix)]

        result = registry_search(user=city.south_clerk, text=prefix)

        assert _numbers(result, "point") == expected
        assert len(expected) == 4

    def test_full_width_digits_and_spaces_are_read_as_the_number(self, city, groups):
        south, _north = groups
        number = _subs(south)[0]
        typed = (
            " ".join(number[:5])
            + " "
            + number[5:].translate({code: code + 0xFEE0 for code in range(0x30, 0x3A)})
        )

        result = registry_search(user=city.south_clerk, text=typed)

        assert result.query == number
        assert _numbers(result, "point") == [number]

    def test_an_access_point_number_finds_it_and_its_points(self, city, groups):
        south, _north = groups

        result = registry_search(user=city.south_clerk, text=city.south_place.number)

        assert _numbers(result, "access_point") == [city.south_place.number]
        assert sorted(_numbers(result, "point")) == sorted(
            Point.objects.filter(group=south).values_list("account_number", flat=True)
        )
        hit = next(k for k in result.kinds if k.kind == "access_point").hits[0]
        assert hit.url == reverse("lineloss:area", args=[city.south_area.pk])

    def test_a_transformer_area_number_finds_the_area(self, city, groups):
        result = registry_search(user=city.south_clerk, text="3310000002")

        assert _numbers(result, "area") == ["3310000002"]
        assert next(k for k in result.kinds if k.kind == "area").hits[0].url == reverse(
            "lineloss:area", args=[city.south_other_area.pk]
        )

    def test_a_meter_asset_number_and_a_barcode_find_the_group(self, city, groups):
        south, _north = groups

        by_asset = registry_search(user=city.south_clerk, text=south.meter_asset_number)
        by_barcode = registry_search(user=city.south_clerk, text="BAR0001")

        assert _numbers(by_asset, "meter") == [south.meter_asset_number]
        assert _numbers(by_barcode, "meter") == [south.meter_asset_number]


class TestText:
    def test_an_address_fragment_finds_the_points_of_the_users_units_only(self, city, groups):
        south, _north = groups

        result = registry_search(user=city.south_clerk, text="南江枫林")

        assert _numbers(result, "point") == _subs(south)

    def test_an_address_follows_its_group_into_another_unit(self, city, groups):
        south, north = groups
        Group.objects.filter(pk=north.pk).update(unit=city.south)
        Group.objects.filter(pk=south.pk).update(unit=city.north)

        for_south = registry_search(user=city.south_clerk, text="南江枫林")
        for_north = registry_search(user=city.north_clerk, text="南江枫林")

        assert _numbers(for_south, "point") == [Point.objects.get(group=north).account_number]
        assert sorted(_numbers(for_north, "point")) == sorted(
            Point.objects.filter(group=south, kind=PointKind.SUB).values_list(
                "account_number", flat=True
            )
        )

    def test_a_point_moved_to_another_group_without_the_orm_is_found_there(self, city, groups):
        south, north = groups
        moved = _subs(south)[0]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE registry_point SET group_id = %s WHERE account_number = %s",
                [north.pk, moved],
            )

        assert moved in _numbers(registry_search(user=city.north_clerk, text="28幢"), "point")
        assert moved not in _numbers(registry_search(user=city.south_clerk, text="28幢"), "point")

    def test_a_customer_name_finds_the_customer_with_a_link_to_its_groups(self, city, groups):
        result = registry_search(user=city.south_clerk, text="移动绍兴")

        [customer] = [k for k in result.kinds if k.kind == "customer"]
        assert [hit.title for hit in customer.hits] == ["中国移动绍兴分公司"]
        assert (
            customer.hits[0].url
            == "/?customer=%E4%B8%AD%E5%9B%BD%E7%A7%BB%E5%8A%A8%E7%BB%8D%E5%85%B4%E5%88%86%E5%85%AC%E5%8F%B8"
        )

    def test_two_characters_find_customers_but_not_points_and_say_why(self, city, groups):
        result = registry_search(user=city.south_clerk, text="移动")

        assert [kind.kind for kind in result.kinds] == ["customer"]
        assert result.notes == ["按户名或地址查找用电点请至少输入 3 个字。"]


class TestScope:
    def test_another_units_points_are_not_found(self, city, groups):
        _south, north = groups
        number = Point.objects.get(group=north).account_number

        assert registry_search(user=city.south_clerk, text=number).kinds == []
        assert _numbers(registry_search(user=city.north_clerk, text=number), "point") == [number]

    def test_a_role_without_view_registry_is_refused(self, city, groups, monkeypatch):
        monkeypatch.setitem(
            ROLES_FOR_ACTION,
            Action.VIEW_REGISTRY,
            frozenset(ROLES_FOR_ACTION[Action.VIEW_REGISTRY]) - {Role.CLERK},
        )

        with pytest.raises(ActionNotAllowed):
            registry_search(user=city.south_clerk, text="南江枫林")

    def test_the_page_refuses_that_role_with_403(self, client, city, groups, monkeypatch):
        monkeypatch.setitem(
            ROLES_FOR_ACTION,
            Action.VIEW_REGISTRY,
            frozenset(ROLES_FOR_ACTION[Action.VIEW_REGISTRY]) - {Role.CLERK},
        )
        client.force_login(city.south_clerk)

        response = client.get(reverse("search"), {"q": "南江枫林"})

        assert response.status_code == 403


class TestHostileInput:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("x" * 5000, "搜索内容不能超过 100 个字符（现有 5000 个）。"),
            ("南江\x00枫林", "搜索内容含有无法识别的字符，请重新输入。"),
            ("   ", "请输入户号、接入点编号、台区编号、电能表资产编号、客户名称或地址。"),
            ("南", "请至少输入 2 个字。"),
            ("170", "号码请至少输入 4 位。"),
        ],
    )
    def test_unusable_text_is_refused_with_a_message(self, city, text, message):
        with pytest.raises(UnusableSearch) as refused:
            registry_search(user=city.south_clerk, text=text)

        assert str(refused.value) == message

    @pytest.mark.parametrize("text", ["%%%", "___", "' OR 1=1 --", "枫林%", "1702%", "_702"])
    def test_wildcards_and_sql_find_nothing(self, city, groups, text):
        assert registry_search(user=city.south_clerk, text=text).kinds == []

    @pytest.mark.parametrize(
        "text", ["x" * 5000, "a\x00b", "%", "'; DROP TABLE registry_point; --"]
    )
    def test_the_page_answers_without_an_error(self, client, city, groups, text):
        client.force_login(city.south_clerk)

        response = client.get(reverse("search"), {"q": text})

        assert response.status_code in (200, 400)
        assert Point.objects.count() == 5


class TestPage:
    def test_results_are_grouped_by_kind_with_counts_and_links(self, client, city, groups):
        south, _north = groups
        client.force_login(city.south_clerk)

        html = client.get(reverse("search"), {"q": "南江枫林"}).content.decode()

        assert "用电点 3" in html
        first = Point.objects.get(account_number=_subs(south)[0])
        assert reverse("registry:point_detail", args=[first.pk]) in html

    def test_nothing_found_says_so(self, client, city, groups):
        client.force_login(city.south_clerk)

        html = client.get(reverse("search"), {"q": "不存在的地址"}).content.decode()

        assert "没有找到与“不存在的地址”相符的记录" in html

    def test_a_cap_per_kind_says_how_many_more(self, client, city, groups):
        client.force_login(city.south_clerk)
        south, _north = groups
        factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=25,
            customer_record=south.customer,
        )  # fmt: skip
        Point.objects.filter(name__startswith="虚拟子户").update(device_address="南江枫林小区")

        html = client.get(reverse("search"), {"q": "南江枫林"}).content.decode()

        assert "只显示了前 20 个，还有 8 个未显示" in html

    def test_the_query_count_is_the_same_for_few_or_many_matches(self, client, city, groups):
        south, _north = groups
        client.force_login(city.south_clerk)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("search"), {"q": "南江枫林"})
        factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=60,
            customer_record=south.customer,
        )  # fmt: skip
        Point.objects.filter(name__startswith="虚拟子户").update(device_address="南江枫林小区")

        with CaptureQueriesContext(connection) as many:
            response = client.get(reverse("search"), {"q": "南江枫林"})

        assert next(k for k in response.context["result"].kinds if k.kind == "point").count == 63
        assert len(many.captured_queries) == len(few.captured_queries)


class TestMoreLinks:
    def test_more_areas_than_shown_link_to_the_line_loss_report_filtered(self, city):
        for index in range(22):
            factories.area(actor=city.south_admin, unit=city.south, number=f"55{index:08d}")

        result = registry_search(user=city.south_clerk, text="5500000")

        [areas] = [kind for kind in result.kinds if kind.kind == "area"]
        assert (len(areas.hits), areas.count, areas.more) == (20, 22, 2)
        assert areas.more_url == "/lineloss/?area=5500000"
