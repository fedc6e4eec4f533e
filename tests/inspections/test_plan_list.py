"""A plan's points as a list: paged with the total, sorted and filtered from the URL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.inspections.services import inspection_plan_create, inspection_result_record
from refmeter.organisations.models import Role
from refmeter.registry.models import Point
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


def _plan(city, points: int, *, north: bool = False):
    """A plan over every point of one group of ``points`` points."""
    unit, admin = (city.north, city.north_admin) if north else (city.south, city.south_admin)
    factories.group(
        actor=admin, unit=unit, place=city.north_place if north else city.south_place,
        sub_accounts=points - 1, active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    field = factories.user(unit=unit, role=Role.FIELD_STAFF)
    plan = inspection_plan_create(
        actor=field, unit=unit, period_start=dt.date(2026, 7, 1), now=NOW, seed=7,
        fraction=Decimal(1),
    )  # fmt: skip
    return plan, field


def _numbers(response) -> list[str]:
    return [target["account_number"] for target in response.context["targets"]]


def _every(city) -> list[str]:
    return sorted(Point.objects.values_list("account_number", flat=True))


@pytest.fixture
def clerk(client, city):
    client.force_login(city.south_clerk)
    return client


class TestPaging:
    def test_page_two_holds_the_rest_and_the_total_is_shown(self, clerk, city):
        plan, _field = _plan(city, 60)

        first = clerk.get(reverse("inspections:plan", args=[plan.pk]))
        second = clerk.get(reverse("inspections:plan", args=[plan.pk]), {"page": "2"})

        assert _numbers(first) == _every(city)[:50]
        assert _numbers(second) == _every(city)[50:]
        assert "共 60 条，显示第 1–50 条" in first.content.decode()
        assert "已检查 0 / 60" in first.content.decode()

    def test_a_page_past_the_end_shows_the_last_page(self, clerk, city):
        plan, _field = _plan(city, 60)

        response = clerk.get(reverse("inspections:plan", args=[plan.pk]), {"page": "99"})

        assert _numbers(response) == _every(city)[50:]

    def test_the_same_queries_for_3_or_60_points(self, client, city):
        small, _field = _plan(city, 3)
        large, _field = _plan(city, 60, north=True)
        client.force_login(city.admin)
        client.get(reverse("inspections:plan", args=[small.pk]))  # sessions, caches
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("inspections:plan", args=[small.pk]))

        with CaptureQueriesContext(connection) as many:
            response = client.get(reverse("inspections:plan", args=[large.pk]))

        assert response.context["listing"].total == 60
        assert len(many.captured_queries) == len(few.captured_queries)


class TestSortingAndFiltering:
    def test_sorted_by_account_number_descending(self, clerk, city):
        plan, _field = _plan(city, 12)

        response = clerk.get(reverse("inspections:plan", args=[plan.pk]), {"sort": "-account"})

        assert _numbers(response) == list(reversed(_every(city)))

    def test_only_the_points_already_inspected(self, clerk, city):
        plan, field = _plan(city, 12)
        checked = _every(city)[3]
        inspection_result_record(
            actor=field, point_id=Point.objects.get(account_number=checked).pk,
            finding="seal_missing", note="", now=NOW,
        )  # fmt: skip

        done = clerk.get(reverse("inspections:plan", args=[plan.pk]), {"state": "done"})
        missing = clerk.get(
            reverse("inspections:plan", args=[plan.pk]), {"finding": "seal_missing"}
        )

        assert _numbers(done) == [checked] == _numbers(missing)
        assert "✓ 封印缺失" in done.content.decode()
        assert "已检查 1 / 12" in done.content.decode()

    def test_by_a_fragment_of_the_address(self, clerk, city):
        plan, _field = _plan(city, 12)
        Point.objects.filter(account_number=_every(city)[5]).update(device_address="南江枫林9幢")

        response = clerk.get(reverse("inspections:plan", args=[plan.pk]), {"text": "枫林"})

        assert _numbers(response) == [_every(city)[5]]

    def test_an_unknown_state_is_refused_with_a_message(self, clerk, city):
        plan, _field = _plan(city, 3)

        response = clerk.get(reverse("inspections:plan", args=[plan.pk]), {"state": "x"})

        assert response.status_code == 200
        assert "检查状态：" in response.content.decode()

    def test_another_units_plan_is_not_shown(self, client, city):
        plan, _field = _plan(city, 3)
        client.force_login(city.north_clerk)

        assert client.get(reverse("inspections:plan", args=[plan.pk])).status_code == 404
