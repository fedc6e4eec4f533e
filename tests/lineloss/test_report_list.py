"""The line-loss report as a list: every area, paged, sorted and filtered from the URL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.lineloss.models import AreaEnergy
from refmeter.registry.models import TransformerArea
from tests.factories import NOW

JUNE = {"period": "2026-06"}


def _areas(city, count: int) -> list[TransformerArea]:
    """``count`` areas of the south unit with June figures: area i loses i % 15 percent."""
    areas = TransformerArea.objects.bulk_create(
        TransformerArea(unit=city.south, number=f"44{index:08d}", name=f"线损{index}#配")
        for index in range(count)
    )
    AreaEnergy.objects.bulk_create(
        AreaEnergy(
            area=area,
            period_start=dt.date(2026, 6, 1),
            supply_kwh=Decimal(100),
            sales_kwh=Decimal(100 - index % 15),
            imported_at=NOW,
        )
        for index, area in enumerate(areas)
    )
    return areas


def _numbers(response) -> list[str]:
    return [row.area_number for row in response.context["rows"]]


@pytest.fixture
def clerk(client, city):
    client.force_login(city.south_clerk)
    return client


class TestPaging:
    def test_every_area_is_reachable_page_by_page_with_the_total(self, clerk, city):
        _areas(city, 60)

        first = clerk.get(reverse("lineloss:report"), JUNE)
        second = clerk.get(reverse("lineloss:report"), {**JUNE, "page": "2"})

        assert _numbers(first) == [f"44{index:08d}" for index in range(50)]
        assert _numbers(second) == [f"44{index:08d}" for index in range(50, 60)]
        assert "共 60 条，显示第 1–50 条" in first.content.decode()

    def test_a_bad_page_number_shows_the_first_page_and_says_so(self, clerk, city):
        _areas(city, 3)

        response = clerk.get(reverse("lineloss:report"), {**JUNE, "page": "x'--"})

        assert response.status_code == 200
        assert len(_numbers(response)) == 3
        assert "页码“x&#x27;--”无效，已显示第 1 页。" in response.content.decode()

    def test_the_same_queries_for_3_or_60_areas(self, clerk, city):
        _areas(city, 3)
        with CaptureQueriesContext(connection) as few:
            clerk.get(reverse("lineloss:report"), JUNE)
        _more = TransformerArea.objects.bulk_create(
            TransformerArea(unit=city.south, number=f"45{index:08d}", name=f"更多{index}#配")
            for index in range(57)
        )
        AreaEnergy.objects.bulk_create(
            AreaEnergy(area=area, period_start=dt.date(2026, 6, 1), supply_kwh=Decimal(10),
                       sales_kwh=Decimal(9), imported_at=NOW)
            for area in _more
        )  # fmt: skip

        with CaptureQueriesContext(connection) as many:
            response = clerk.get(reverse("lineloss:report"), JUNE)

        assert response.context["listing"].total == 60
        assert len(many.captured_queries) == len(few.captured_queries)


class TestSorting:
    def test_by_loss_after_descending(self, clerk, city):
        _areas(city, 20)

        response = clerk.get(reverse("lineloss:report"), {**JUNE, "sort": "-loss_after"})

        rates = [row.loss_after for row in response.context["rows"]]
        assert rates[:3] == [Decimal("14.00"), Decimal("13.00"), Decimal("12.00")]
        assert rates == sorted(rates, reverse=True)

    def test_an_unknown_sort_key_falls_back_and_says_so(self, clerk, city):
        _areas(city, 3)

        response = clerk.get(reverse("lineloss:report"), {**JUNE, "sort": "password"})

        assert _numbers(response) == ["4400000000", "4400000001", "4400000002"]
        assert "不能按“password”排序，已按默认顺序显示。" in response.content.decode()


class TestFiltering:
    def test_by_class_after_the_virtual_energy(self, clerk, city):
        _areas(city, 30)

        response = clerk.get(reverse("lineloss:report"), {**JUNE, "loss_class": "high"})

        assert _numbers(response) == [f"44{index:08d}" for index in range(30) if index % 15 > 10]

    def test_by_area_number_or_name(self, clerk, city):
        _areas(city, 30)

        response = clerk.get(reverse("lineloss:report"), {**JUNE, "area": "线损2"})

        assert _numbers(response) == ["4400000002", *[f"44{i:08d}" for i in range(20, 30)]]

    def test_an_unknown_class_is_refused_with_a_message(self, clerk, city):
        _areas(city, 3)

        response = clerk.get(reverse("lineloss:report"), {**JUNE, "loss_class": "nope"})

        assert _numbers(response) == []
        assert "计入后：选择一个有效的选项。 nope 不在可用的选项中。" in response.content.decode()

    def test_the_export_holds_the_filtered_sorted_areas_of_every_page(self, clerk, city):
        _areas(city, 60)

        export = clerk.get(
            reverse("lineloss:export", args=["csv"]),
            {**JUNE, "loss_class": "qualified", "sort": "-area", "page": "2"},
        )

        lines = export.content.decode("utf-8-sig").splitlines()[1:]
        expected = [f"44{i:08d}" for i in reversed(range(60)) if i % 15 <= 10]
        assert [line.split(",")[0] for line in lines] == expected
