"""Hostile query strings on every paged list: never a 5xx, and a refusal says why in Chinese."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from refmeter.inspections.services import inspection_plan_create
from tests import factories

HOSTILE = [
    "x" * 5000,
    "a\x00b",
    "' OR 1=1 --",
    "%",
    "_",
    "-",
    "--page",
    str(2**70),
    "-1",
    "0000-01-01",
    "9999-12-31",
]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def lists(city):
    group = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3
    )
    plan = inspection_plan_create(
        actor=city.south_admin, unit=city.south, period_start=dt.date(2026, 7, 1),
        now=factories.NOW, seed=1, fraction=Decimal(1),
    )  # fmt: skip
    return {
        reverse("search"): ["q"],
        reverse("lineloss:report"): ["period", "area", "loss_class", "moved"],
        reverse("anomalies:list"): ["status", "kind", "text", "raised_from", "raised_to"],
        reverse("workorders:list"): ["view", "text", "kind", "step", "unit", "created_from",
                                     "created_to"],
        reverse("inspections:plan", args=[plan.pk]): ["text", "state", "finding"],
        reverse("registry:group_detail", args=[group.pk]): [
            "history_action", "history_from", "history_to", "history_sort", "history_page",
        ],
    }  # fmt: skip


class TestHostileQueryStrings:
    def test_every_list_answers_every_hostile_value_without_an_error(self, city, lists):
        client = Client(raise_request_exception=False)
        client.force_login(city.south_clerk)
        wrong = []
        for url, names in lists.items():
            for name in [*names, "page", "sort", "size"]:
                for value in HOSTILE:
                    response = client.get(url, {name: value})
                    body = response.content.decode()
                    if response.status_code >= 500 or not CHINESE.search(body):
                        wrong.append((url, name, value[:20], response.status_code))

        assert wrong == []
