"""The case list: paged with the total, sorted and filtered from the URL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase, AnomalyKind, CaseStatus
from tests import factories

KINDS = [AnomalyKind.STOPPED, AnomalyKind.REVERSE, AnomalyKind.ZERO]


@pytest.fixture
def meter(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip


def _cases(group, count: int, *, first: int = 0) -> list[AnomalyCase]:
    """Open cases raised one a day from 1 March, kinds in turn."""
    return AnomalyCase.objects.bulk_create(
        AnomalyCase(
            group=group,
            meter_asset_number=group.meter_asset_number,
            kind=KINDS[index % 3],
            account_number=f"17029{index:05d}",
            status=CaseStatus.OPEN,
            condition_since=dt.date(2026, 2, 1),
            raised_on=dt.date(2026, 3, 1) + dt.timedelta(days=index),
            last_seen_on=dt.date(2026, 3, 1) + dt.timedelta(days=index),
        )
        for index in range(first, first + count)
    )


def _raised(response) -> list[str]:
    return [row.raised_on.isoformat() for row in response.context["rows"]]


def _day(index: int) -> str:
    return (dt.date(2026, 3, 1) + dt.timedelta(days=index)).isoformat()


@pytest.fixture
def clerk(client, city):
    client.force_login(city.south_clerk)
    return client


class TestPaging:
    def test_page_two_holds_the_rest_and_the_total_is_shown(self, clerk, meter):
        _cases(meter, 60)

        first = clerk.get(reverse("anomalies:list"))
        second = clerk.get(reverse("anomalies:list"), {"page": "2"})

        assert _raised(first) == [_day(index) for index in range(50)]
        assert _raised(second) == [_day(index) for index in range(50, 60)]
        assert "共 60 条，显示第 1–50 条" in first.content.decode()

    def test_the_same_queries_for_3_or_60_cases(self, clerk, meter):
        _cases(meter, 3)
        clerk.get(reverse("anomalies:list"))
        with CaptureQueriesContext(connection) as few:
            clerk.get(reverse("anomalies:list"))
        _cases(meter, 57, first=3)

        with CaptureQueriesContext(connection) as many:
            response = clerk.get(reverse("anomalies:list"))

        assert response.context["listing"].total == 60
        assert len(many.captured_queries) == len(few.captured_queries)


class TestSortingAndFiltering:
    def test_newest_first(self, clerk, meter):
        _cases(meter, 5)

        response = clerk.get(reverse("anomalies:list"), {"sort": "-raised"})

        assert _raised(response) == [_day(index) for index in (4, 3, 2, 1, 0)]

    def test_by_kind_and_date_range_with_the_filters_kept_in_the_pager(self, clerk, meter):
        _cases(meter, 60)

        response = clerk.get(
            reverse("anomalies:list"),
            {"kind": "reverse", "raised_from": _day(10), "raised_to": _day(40)},
        )

        assert _raised(response) == [_day(index) for index in range(10, 41) if index % 3 == 1]
        assert response.context["listing"].query == (
            f"kind=reverse&raised_from={_day(10)}&raised_to={_day(40)}"
        )

    def test_by_the_base_account_number(self, clerk, city, meter):
        _cases(meter, 2)
        other = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        _cases(other, 1, first=5)
        base = meter.points.get(kind="base").account_number

        response = clerk.get(reverse("anomalies:list"), {"text": base})

        assert _raised(response) == [_day(0), _day(1)]

    def test_an_inverted_date_range_is_an_error_not_an_empty_list(self, clerk, meter):
        _cases(meter, 3)

        response = clerk.get(
            reverse("anomalies:list"), {"raised_from": "2026-05-01", "raised_to": "2026-04-01"}
        )

        assert response.status_code == 200
        assert "报出日期从（2026-05-01）晚于报出日期至（2026-04-01），请改正日期范围。" in (
            response.content.decode()
        )
        assert _raised(response) == []

    def test_an_unknown_tab_shows_the_open_cases(self, clerk, meter):
        _cases(meter, 2)

        response = clerk.get(reverse("anomalies:list"), {"status": "<script>"})

        assert response.context["status"] == "open"
        assert _raised(response) == [_day(0), _day(1)]
