"""No input makes the API answer 5xx, and every refusal is JSON with a Chinese ``detail``.

Schemathesis runs against the live test server with a bearer token, over every operation of
/api/v1/openapi.json: the schema's examples, its boundary values (negative and huge numbers,
empty and over-long text, NUL bytes, malformed dates) and a few random requests each. The
classes after it pin each defect it found to an exact answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.utils import timezone
from schemathesis.engine import Status, events, from_schema

from refmeter.anomalies.services import anomaly_case_open_by_hand
from refmeter.billing.services import billing_run, tariff_create
from refmeter.labels.selectors import targets_for_points
from refmeter.labels.services import labels_issue, scan_record
from refmeter.organisations.services import api_token_create
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Point
from tests import factories

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@schemathesis.check
def errors_are_json_with_a_chinese_detail(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every 4xx and 5xx answer is a JSON object whose ``detail`` says why, in Chinese."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered as {content_type!r}, not JSON"
    )
    body = json.loads(response.content)
    detail = body.get("detail") if isinstance(body, dict) else None
    assert isinstance(detail, str) and CHINESE.search(detail), (
        f"{response.status_code} without a Chinese detail: {response.content[:200]!r}"
    )
    return None


def fuzz_config(token: str) -> schemathesis.Config:
    """Bounded: a fixed seed, a few random cases per operation on top of the schema's examples
    and boundary values, a deadline for each request. (No ``max-time``: with one, the random
    phase repeats until it runs out.)"""
    return schemathesis.Config.from_dict(
        {
            "seed": 20261128,
            "continue-on-failure": True,
            "request-timeout": 10,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": 8, "no-shrink": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "errors_are_json_with_a_chinese_detail": {"enabled": True},
            },
        }
    )


@pytest.fixture
def fuzz_token(city, settings) -> str:
    """A service area like the demo's: a group of five points with two months of readings,
    a billed month, an open anomaly case and a scanned label; the token of its administrator."""
    # Requests sent without the token or with a wrong one must not lock the token's address out.
    settings.REFMETER_API_TOKEN_FAILURE_LIMIT = 1_000_000
    now = timezone.now()
    admin = city.south_admin
    tariff_create(
        code="LV", name="单一制", effective_from=dt.date(2020, 1, 1), price=Decimal("0.5")
    )
    group = factories.group(
        actor=admin, unit=city.south, place=city.south_place, sub_accounts=4,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    factories.group_terms(group, actor=admin, tariff_code="LV")
    factories.readings(group, dt.date(2026, 9, 1), [1000 + 3 * day for day in range(61)])
    billing_run(actor=None, period="2026-10", now=now)
    anomaly_case_open_by_hand(
        actor=admin, group_id=group.pk, kind="stopped", since=dt.date(2026, 10, 20),
        note="抄表员报告", now=now,
    )  # fmt: skip
    point = Point.objects.filter(group=group).order_by("pk").last()
    label = labels_issue(
        actor=admin, targets=targets_for_points(user=admin, point_ids=[point.pk]), batch="t",
        now=now,
    )[0]  # fmt: skip
    scan_record(token=label.token, user=admin, now=now, via="api")
    return api_token_create(user=admin, name="接口测试", now=now)


def run_schemathesis(url: str, token: str) -> tuple[list[str], int]:
    """Every distinct failure as one line, and the number of operations tested."""
    schema = schemathesis.openapi.from_url(url, config=fuzz_config(token))
    failures: set[str] = set()
    operations: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.label:
            if event.status != Status.SKIP:
                operations.add(event.label)
            if event.status == Status.FAILURE:
                for checks in event.recorder.checks.values():
                    for check in checks:
                        if check.failure_info is not None:
                            failure = check.failure_info.failure
                            curl = check.failure_info.code_sample.replace(
                                url[: -len("/api/v1/openapi.json")], ""
                            )
                            failures.add(
                                f"{failure.operation}: {check.name}: {failure.title}: "
                                f"{failure.message.splitlines()[0] if failure.message else ''}"
                                f" <- {curl[:300]}"
                            )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.add(f"schemathesis could not run: {event!r}"[:500])
        elif isinstance(event, events.EngineFinished) and event.stop_reason != "completed":
            failures.add(f"schemathesis stopped early: {event.stop_reason}")
    return sorted(failures), len(operations)


@pytest.mark.django_db(transaction=True)
class TestSchemathesisAgainstTheLiveServer:
    def test_no_operation_answers_5xx_and_every_refusal_is_json_in_chinese(
        self, live_server, fuzz_token
    ):
        failures, operations = run_schemathesis(
            f"{live_server.url}/api/v1/openapi.json", fuzz_token
        )

        assert failures == []
        assert operations == 15


def bearer(user) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_token_create(user=user, name='测试', now=timezone.now())}"
    }


@pytest.fixture
def south_group(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
    )


class TestPagingIsBounded:
    @pytest.mark.parametrize(
        ("query", "detail"),
        [
            ("limit=0", "请求参数有误：查询参数 limit 应不小于 1。"),
            ("limit=1001", "请求参数有误：查询参数 limit 应不大于 1000。"),
            ("offset=-1", "请求参数有误：查询参数 offset 应不小于 0。"),
            (f"offset={2**70}", "请求参数有误：查询参数 offset 应不大于 10000000。"),
            ("limit=abc", "请求参数有误：查询参数 limit 应为整数。"),
            (
                "limit=-5&offset=-5",
                "请求参数有误：查询参数 limit 应不小于 1；查询参数 offset 应不小于 0。",
            ),
        ],
    )
    def test_a_window_out_of_bounds_is_refused_in_chinese(
        self, client, city, south_group, query, detail
    ):
        groups = client.get(f"/api/v1/groups?{query}", headers=bearer(city.south_clerk))
        points = client.get(
            f"/api/v1/groups/{south_group.pk}/points?{query}", headers=bearer(city.south_clerk)
        )

        assert (groups.status_code, groups.json()["detail"]) == (422, detail)
        assert (points.status_code, points.json()["detail"]) == (422, detail)

    def test_the_refusal_names_each_problem_for_programs_too(self, client, city, south_group):
        response = client.get("/api/v1/groups?offset=-1", headers=bearer(city.south_clerk))

        assert response.json()["errors"] == [
            {"loc": ["query", "offset"], "type": "greater_than_equal", "message": "应不小于 0"}
        ]

    @pytest.mark.parametrize(
        ("query", "detail"),
        [
            ("limit=-1", "请求参数有误：查询参数 limit 应不小于 1。"),
            ("limit=5001", "请求参数有误：查询参数 limit 应不大于 5000。"),
            (
                "status=gone",
                "请求参数有误：查询参数 status 应为以下值之一：'open', 'cleared', 'closed'。",
            ),
        ],
    )
    def test_anomalies_are_listed_in_a_bounded_window_of_a_known_status(
        self, client, city, query, detail
    ):
        response = client.get(f"/api/v1/anomalies?{query}", headers=bearer(city.south_clerk))

        assert (response.status_code, response.json()["detail"]) == (422, detail)

    @pytest.mark.parametrize(
        ("query", "detail"),
        [
            ("limit=0", "请求参数有误：查询参数 limit 应不小于 1。"),
            ("limit=10001", "请求参数有误：查询参数 limit 应不大于 10000。"),
            ("offset=-1", "请求参数有误：查询参数 offset 应不小于 0。"),
            (f"offset={2**63}", "请求参数有误：查询参数 offset 应不大于 10000000。"),
        ],
    )
    def test_bills_are_listed_in_a_bounded_window(self, client, city, query, detail):
        response = client.get(
            f"/api/v1/bills?period=2026-06&{query}", headers=bearer(city.south_clerk)
        )

        assert (response.status_code, response.json()["detail"]) == (422, detail)


class TestPeriodsAndDates:
    @pytest.mark.parametrize(
        ("period", "detail"),
        [
            ("0000-01", "账期“0000-01”的年份应在 1900 到 2999 之间。"),
            ("9999-12", "账期“9999-12”的年份应在 1900 到 2999 之间。"),
            ("2026-13", "账期“2026-13”的月份应在 01 到 12 之间。"),
            ("２０２６-１０", "账期“２０２６-１０”格式不正确，应为 YYYY-MM，例如 2026-10。"),
            ("", "账期“”格式不正确，应为 YYYY-MM，例如 2026-10。"),
        ],
    )
    def test_a_month_that_cannot_be_is_refused_for_bills_and_line_loss(
        self, client, city, period, detail
    ):
        bills = client.get("/api/v1/bills", {"period": period}, headers=bearer(city.south_clerk))
        lineloss = client.get(
            "/api/v1/lineloss", {"period": period}, headers=bearer(city.south_clerk)
        )

        assert (bills.status_code, bills.json()) == (400, {"detail": detail})
        assert (lineloss.status_code, lineloss.json()) == (400, {"detail": detail})

    @pytest.mark.parametrize(
        ("query", "detail"),
        [
            ("on_date=0000-01-01", "请求参数有误：查询参数 on_date 应不早于 1900-01-01。"),
            ("on_date=20260230", "请求参数有误：查询参数 on_date 应为 YYYY-MM-DD 格式的日期。"),
            ("on_date=2026-02-30", "请求参数有误：查询参数 on_date 应为 YYYY-MM-DD 格式的日期。"),
            ("on_date=0001-01-01", "请求参数有误：查询参数 on_date 应不早于 1900-01-01。"),
            (
                "period_start=0001-01-01&period_end=9999-12-31",
                "请求参数有误：查询参数 period_start 应不早于 1900-01-01；"
                "查询参数 period_end 应不晚于 2999-12-31。",
            ),
        ],
    )
    def test_a_date_that_cannot_be_is_refused_for_the_multiplier(
        self, client, city, south_group, query, detail
    ):
        response = client.get(
            f"/api/v1/groups/{south_group.pk}/multiplier?{query}",
            headers=bearer(city.south_clerk),
        )

        assert (response.status_code, response.json()["detail"]) == (422, detail)


class TestHostileText:
    def test_a_nul_byte_in_a_query_is_refused(self, client, city, south_group):
        response = client.get(
            "/api/v1/groups", {"name": "a\x00b"}, headers=bearer(city.south_clerk)
        )

        assert (response.status_code, response.json()) == (
            400,
            {"detail": "请求中含有空字符（NUL），已拒绝：请删除后重新提交。"},
        )

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"name": "名" * 201}, "请求参数有误：请求体 name 长度不能超过 200 个字符。"),
            (
                {"device_address": "址" * 301},
                "请求参数有误：请求体 device_address 长度不能超过 300 个字符。",
            ),
            ({"name": "a\x00b"}, "请求参数有误：请求体 name 不能含有空字符（NUL）。"),
            ({"area_number": "\x00"}, "请求参数有误：请求体 area_number 不能含有空字符（NUL）。"),
            ({"reason": "因" * 501}, "请求参数有误：请求体 reason 长度不能超过 500 个字符。"),
        ],
    )
    def test_an_over_long_or_nul_value_changes_nothing(
        self, client, city, south_group, body, detail
    ):
        point = Point.objects.filter(group=south_group).order_by("pk").last()
        before = Point.objects.values().get(pk=point.pk)

        response = client.patch(
            f"/api/v1/points/{point.pk}",
            data={"reason": "更正", **body},
            content_type="application/json",
            headers=bearer(city.south_clerk),
        )

        assert (response.status_code, response.json()["detail"]) == (422, detail)
        assert Point.objects.values().get(pk=point.pk) == before


class TestHugeReadings:
    @pytest.mark.parametrize("value", [1e30, "1e30", "-1e30", 10**12, "99999999999999.99"])
    def test_a_reading_beyond_the_register_is_refused_and_nothing_is_written(
        self, client, city, south_group, value
    ):
        row = {"meter_asset_number": south_group.meter_asset_number, "reading_date": "2026-06-01",
               "forward_total": value, "reverse_total": "0"}  # fmt: skip

        response = client.post(
            "/api/v1/readings", {"readings": [row]}, content_type="application/json",
            headers=bearer(city.south_admin),
        )  # fmt: skip

        assert response.status_code == 400
        assert response.json()["problems"] == [
            "第 2 行 C 列（正向有功总）：示数超出范围：整数部分最多 12 位。"
        ]
        assert MeterReading.objects.count() == 0

    def test_the_largest_reading_the_register_holds_goes_in(self, client, city, south_group):
        row = {"meter_asset_number": south_group.meter_asset_number, "reading_date": "2026-06-01",
               "forward_total": "999999999999.99", "reverse_total": "0"}  # fmt: skip

        response = client.post(
            "/api/v1/readings", {"readings": [row]}, content_type="application/json",
            headers=bearer(city.south_admin),
        )  # fmt: skip

        assert response.status_code == 200
        assert MeterReading.objects.get().forward_total == Decimal("999999999999.99")


class TestEveryErrorIsJsonInChinese:
    def test_no_token_is_refused_with_how_to_authenticate(self, client, db):
        response = client.get("/api/v1/statistics")

        assert (response.status_code, response.json()) == (
            401,
            {"detail": "需要接口令牌：请在请求头中提供 Authorization: Bearer <接口令牌>。"},
        )

    def test_an_unknown_address_under_the_api_is_json(self, client, city):
        response = client.get("/api/v1/nowhere", headers=bearer(city.south_clerk))

        assert (response.status_code, response["Content-Type"], response.json()) == (
            404,
            "application/json",
            {"detail": "没有这个接口地址，请核对（接口说明见 /api/v1/docs）。"},
        )

    def test_a_method_the_operation_does_not_have_is_json(self, client, city):
        response = client.delete("/api/v1/groups", headers=bearer(city.south_clerk))

        assert (response.status_code, response.json(), response["Allow"]) == (
            405,
            {"detail": "接口 /api/v1/groups 不支持 DELETE 请求。"},
            "GET",
        )

    def test_a_server_error_under_the_api_is_json(self, client, city, monkeypatch):
        from refmeter.registry import selectors

        def broken(**kwargs: Any) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(selectors, "point_statistics", broken)
        client.raise_request_exception = False

        response = client.get("/api/v1/statistics", headers=bearer(city.south_clerk))

        assert (response.status_code, response["Content-Type"], response.json()) == (
            500,
            "application/json",
            {"detail": "服务器内部错误，请求未能完成；已记录，请稍后重试或联系系统管理员。"},
        )


class TestTheOpenApiDocument:
    def test_it_lists_the_refusals_each_operation_can_answer(self, client, db):
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        def codes(path: str, method: str) -> list[str]:
            return sorted(paths[path][method]["responses"])

        assert codes("/api/v1/groups", "get") == ["200", "400", "401", "403", "404", "422"]
        assert codes("/api/v1/points/{point_id}", "patch") == [
            "200", "400", "401", "403", "404", "412", "422",
        ]  # fmt: skip
        assert codes("/api/v1/statistics", "get") == ["200", "400", "401", "403"]
        assert codes("/api/v1/labels/keys", "get") == ["200", "400"]
        assert codes("/api/v1/readings", "post") == ["200", "400", "401", "403", "422"]
        assert paths["/api/v1/groups"]["get"]["responses"]["422"]["content"]["application/json"][
            "schema"
        ]["required"] == ["detail"]
