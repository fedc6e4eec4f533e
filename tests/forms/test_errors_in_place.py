"""Refused forms come back with the message beside the field and what the user typed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from refmeter.inspections.models import InspectionPlan
from refmeter.organisations.models import Role
from refmeter.registry.models import Point, PointKind
from refmeter.workorders.models import Contract, Step
from tests import factories
from tests.workorders.test_pages import surveyed_order  # noqa: F401  (fixture)

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"}


def field_errors(content: str) -> dict[str, list[str]]:
    """The messages shown under each field: {field name: [message, ...]}."""
    found: dict[str, list[str]] = {}
    for name, message in re.findall(
        r'<span class="field-error" id="error-([a-z_0-9]+)"[^>]*>([^<]*)</span>', content
    ):
        found.setdefault(name, []).append(message)
    return found


class TestThePointPage:
    def test_an_unknown_access_point_is_shown_beside_the_field_with_the_typing_kept(
        self, client, city
    ):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.filter(group=group, kind=PointKind.SUB).first()
        client.force_login(city.south_clerk)

        response = client.post(
            reverse("registry:point_detail", args=[point.pk]),
            {
                "name": "改过的户名",
                "device_address": "新地址 1 号",
                "area_number": point.area.number,
                "access_point_number": "33503000000000000",
                "reason": "现场核实",
                "version": point.version,
            },
            **HTMX,
        )

        content = response.content.decode()
        assert response.status_code == 400
        assert field_errors(content) == {
            "access_point_number": ["接入点 33503000000000000 不存在或不属于您的单位。"]
        }
        assert 'value="改过的户名"' in content
        assert 'value="新地址 1 号"' in content
        assert 'value="33503000000000000"' in content
        point.refresh_from_db()
        assert point.name != "改过的户名"

    def test_an_access_point_that_is_not_17_digits_is_refused_beside_the_field(self, client, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.filter(group=group, kind=PointKind.SUB).first()
        client.force_login(city.south_clerk)

        response = client.post(
            reverse("registry:point_detail", args=[point.pk]),
            {"name": point.name, "device_address": point.device_address,
             "area_number": point.area.number, "access_point_number": "3350", "reason": "核实",
             "version": point.version},
            **HTMX,
        )  # fmt: skip

        assert response.status_code == 400
        assert field_errors(response.content.decode()) == {
            "access_point_number": ["接入点编号应为 17 位数字，“3350”不是。"]
        }


class TestTheContractStep:
    def test_an_invalid_date_keeps_all_six_fields_and_says_which(
        self,
        client,
        city,
        surveyed_order,  # noqa: F811
    ):
        manager = factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER, username="cm")
        client.force_login(manager)
        typed = {
            "number": "HT-2026-001",
            "start_date": "2026-02-30",
            "end_date": "2029-01-31",
            "approved_by": "李四",
            "approved_date": "2026-01-20",
            "signed_date": "2026-01-22",
        }

        response = client.post(
            reverse("workorders:contract", args=[surveyed_order.pk]), typed, **HTMX
        )

        content = response.content.decode()
        assert response.status_code == 400
        assert field_errors(content) == {"start_date": ["应为日期，例如 2026-12-01。"]}
        for value in typed.values():
            assert f'value="{value}"' in content
        # A browser would empty a date input holding 2026-02-30: it comes back as text.
        assert '<input type="text" name="start_date" value="2026-02-30"' in content
        assert '<input type="date" name="end_date" value="2029-01-31"' in content
        assert not Contract.objects.exists()

    def test_an_end_before_the_start_is_shown_on_the_end_date(
        self,
        client,
        city,
        surveyed_order,  # noqa: F811
    ):
        manager = factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER, username="cm")
        client.force_login(manager)

        response = client.post(
            reverse("workorders:contract", args=[surveyed_order.pk]),
            {"number": "HT-1", "start_date": "2026-03-01", "end_date": "2026-02-01"},
            **HTMX,
        )

        assert response.status_code == 400
        assert field_errors(response.content.decode()) == {
            "end_date": ["合同到期日期必须晚于生效日期。"]
        }
        surveyed_order.refresh_from_db()
        assert surveyed_order.step == Step.CONTRACT
        assert not Contract.objects.exists()


class TestTheInspectionPlanForm:
    @pytest.mark.parametrize("fraction", ["abc", "NaN", "Infinity", "-1", "1.5", "0"])
    def test_a_fraction_that_is_not_one_is_shown_beside_the_field(self, client, city, fraction):
        manager = factories.user(unit=city.south, role=Role.MANAGER, username="boss")
        client.force_login(manager)

        response = client.post(
            reverse("inspections:plans"),
            {"unit": city.south.pk, "period_start": "2026-07-01", "fraction": fraction},
            **HTMX,
        )

        content = response.content.decode()
        assert response.status_code == 400
        assert field_errors(content) == {"fraction": ["应为 0.2 到 1 之间的小数，例如 0.2。"]}
        assert f'value="{fraction}"' in content
        assert 'value="2026-07-01"' in content
        assert not InspectionPlan.objects.exists()


class TestTheContactSheetForms:
    @pytest.fixture
    def case(self, city):
        from refmeter.anomalies.services import anomaly_case_open_by_hand

        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        return anomaly_case_open_by_hand(
            actor=city.south_admin, group_id=group.pk, kind="stopped", note="现场发现",
            since=dt.date(2026, 6, 20),
            now=dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC),
        )  # fmt: skip

    def test_an_over_long_request_is_shown_beside_the_field_and_kept(self, client, city, case):
        client.force_login(city.south_admin)

        response = client.post(
            reverse("anomalies:sheet_send", args=[case.pk]), {"request": "查" * 501}, **HTMX
        )

        content = response.content.decode()
        assert response.status_code == 400
        assert field_errors(content) == {"request": ["不能超过 500 个字符（现有 501 个）。"]}
        assert "查" * 501 in content

    def test_the_evidence_is_shown_with_chinese_labels(self, client, city, case):
        client.force_login(city.south_admin)

        content = client.get(reverse("anomalies:case", args=[case.pk])).content.decode()

        assert "<tr><th>来源</th><td>人工登记</td></tr>" in content
        assert "<tr><th>说明</th><td>现场发现</td></tr>" in content
        assert "<th>source</th>" not in content

    def test_a_scans_evidence_keys_all_have_labels(self):
        from refmeter.anomalies.selectors import evidence_rows

        rows = evidence_rows({"since": "2026-06-01", "days": 5, "as_of": "2026-06-05",
                              "forward_total": "1149.24", "figure": "0.00", "threshold": "0.5",
                              "raise_after_days": 3})  # fmt: skip

        assert rows == [
            ("异常起始日", "2026-06-01"), ("持续天数", "5"), ("判定日期", "2026-06-05"),
            ("正向有功总示数（kWh）", "1149.24"), ("判定值", "0.00"), ("阈值", "0.5"),
            ("持续多少天后立案", "3"),
        ]  # fmt: skip


class TestTheOutageForm:
    def test_an_end_before_the_start_keeps_every_field(self, client, city):
        manager = factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER, username="cm")
        client.force_login(manager)
        typed = {"kind": "planned", "unit": city.south.pk, "starts_at": "2026-12-01T12:00",
                 "ends_at": "2026-12-01T08:00", "areas": city.south_area.number,
                 "access_points": "", "reason": "线路检修"}  # fmt: skip

        response = client.post(reverse("outages:list"), typed, **HTMX)

        content = response.content.decode()
        assert response.status_code == 400
        assert field_errors(content) == {"ends_at": ["停电结束时间必须晚于开始时间。"]}
        assert 'value="2026-12-01T12:00"' in content
        assert 'value="2026-12-01T08:00"' in content
        assert 'value="线路检修"' in content
        assert f'value="{city.south_area.number}"' in content


class TestTheApplicationForm:
    def test_a_bad_id_number_and_sms_number_are_shown_beside_their_fields(self, client, city):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
        client.force_login(city.south_clerk)

        response = client.post(
            reverse("workorders:new_install"),
            {"customer": customer.pk, "device_type": device.pk, "handler_name": "张三",
             "handler_id_number": "110105194912310021", "sms_number": "0575-88123456"},
            **HTMX,
        )  # fmt: skip

        content = response.content.decode()
        assert response.status_code == 400
        assert field_errors(content) == {
            "handler_id_number": ["身份证号码的校验码不正确，请核对。"],
            "sms_number": ["手机号码应为 11 位，以 13–19 开头，例如 13812345678。"],
        }
        assert 'value="110105194912310021"' in content
        assert 'value="张三"' in content
        from refmeter.workorders.models import WorkOrder

        assert not WorkOrder.objects.exists()
