"""No value typed into a page makes a 500: each hostile value in each field of each form (and
of each page that reads numbers or dates from its address) gets a page with a message in
Chinese, or is taken as the ordinary input it is.

Each request runs in a transaction that is rolled back, so every value meets the form in the
same state (a case with no contact sheet yet, an order at its contract step...).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from refmeter.anomalies.models import AnomalyCase, ContactSheet
from refmeter.anomalies.services import anomaly_case_open_by_hand
from refmeter.billing.models import BackBilling
from refmeter.billing.services import tariff_create
from refmeter.inspections.models import InspectionPlan, InspectionResult
from refmeter.inspections.services import inspection_plan_create
from refmeter.labels.selectors import targets_for_points
from refmeter.labels.services import labels_issue
from refmeter.organisations.models import Role
from refmeter.outages.models import Outage
from refmeter.outages.selectors import notice_template_current
from refmeter.outages.services import outage_create
from refmeter.registry.models import Point
from refmeter.workorders import services as orders
from tests import factories
from tests.workorders.test_processes import application_rows

HOSTILE = [
    "abc",
    str(2**70),
    "999999999999999",
    "0000-01",
    "0000-01-01",
    "9999-12-31",
    "\x00",
    "x" * 10_000,
]
CHINESE = re.compile(r"[\u4e00-\u9fff]")
SHOWN = re.compile(
    r'<(p|div|ul|span)\b[^>]*(?:role="(?:alert|status)"|class="errorlist[^"]*")[^>]*>(.*?)</\1>',
    re.S,
)
ITEM = re.compile(r"<(?:p|li)\b[^>]*>(.*?)</(?:p|li)>", re.S)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def shown_messages(response: Any) -> list[str]:
    """The messages, refusals and form errors on a page, as text (a refusal's way back left
    out)."""
    shown = []
    for _tag, inner in SHOWN.findall(response.content.decode()):
        items = [item for item in ITEM.findall(inner) if not item.strip().startswith("<a ")]
        shown += [_text(item) for item in items] if items else [_text(inner)]
    return [text for text in shown if text]


@dataclass
class Form:
    name: str
    user: Any
    method: str
    url: str
    data: dict[str, str]

    def send(self, client: Client, values: dict[str, str]) -> Any:
        data = {**self.data, **values}
        if self.method == "POST":
            return client.post(self.url, data, follow=True)
        return client.get(self.url, data, follow=True)


@dataclass
class World:
    city: Any
    admin: Any
    billing: Any
    field_staff: Any
    group: Any
    point: Any
    case: AnomalyCase
    plan: InspectionPlan
    token: str
    contract_order: Any
    closure_order: Any


@pytest.fixture
def world(city, nearby_index) -> World:
    admin = city.south_admin
    now = timezone.now()
    today = timezone.localdate()
    tariff_create(
        code="LV", name="单一制", effective_from=dt.date(2020, 1, 1), price=Decimal("0.658")
    )
    group = factories.group(
        actor=admin, unit=city.south, place=city.south_place, sub_accounts=4,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    factories.group_terms(group, actor=admin, tariff_code="LV")
    factories.readings(group, dt.date(2026, 9, 1), [1000 + 3 * day for day in range(60)])
    point = Point.objects.filter(group=group).order_by("pk").last()
    field_staff = factories.user(unit=city.south, role=Role.FIELD_STAFF, username="inspector")
    customer = factories.customer(actor=admin, unit=city.south)
    device = factories.device_type(actor=admin)
    contract_order = orders.order_new_install_start(
        actor=admin, customer_id=customer.pk, device_type_id=device.pk,
        application=orders.Application(), now=now,
    )  # fmt: skip
    orders.order_lines_import(
        actor=admin, order_id=contract_order.pk, rows=application_rows(), now=now
    )
    orders.order_step_complete(actor=admin, order_id=contract_order.pk, now=now)
    orders.order_survey_resolve(actor=admin, order_id=contract_order.pk, now=now)
    orders.order_step_complete(actor=admin, order_id=contract_order.pk, now=now)
    case = anomaly_case_open_by_hand(
        actor=admin, group_id=group.pk, kind="stopped", since=dt.date(2026, 10, 20),
        note="抄表员报告", now=now,
    )  # fmt: skip
    plan = inspection_plan_create(
        actor=field_staff, unit=city.south, period_start=today.replace(day=1), now=now, seed=5
    )
    label = labels_issue(
        actor=admin, targets=targets_for_points(user=admin, point_ids=[point.pk]), batch="t",
        now=now,
    )[0]  # fmt: skip
    closure_order = orders.order_group_start(
        actor=admin, group_id=group.pk, kind="closure", application=orders.Application(),
        now=now,
    )  # fmt: skip
    return World(
        city=city,
        admin=admin,
        billing=factories.user(unit=city.south, role=Role.BILLING, username="biller"),
        field_staff=field_staff,
        group=group,
        point=point,
        case=case,
        plan=plan,
        token=label.token,
        contract_order=contract_order,
        closure_order=closure_order,
    )


def forms_of(app: str, world: World) -> list[Form]:
    city, today = world.city, timezone.localdate().isoformat()
    outage = None
    if app == "outages":
        now = timezone.now()
        outage = outage_create(
            actor=world.admin, unit=city.south, kind="planned",
            starts_at=now + dt.timedelta(days=9), ends_at=now + dt.timedelta(days=9, hours=4),
            reason="线路检修",
            area_numbers=[city.south_area.number], access_point_numbers=[], now=now,
        )  # fmt: skip
    line = world.contract_order.lines.order_by("pk").first()
    every = {
        "inspections": [
            Form("周期检查计划", world.field_staff, "POST", reverse("inspections:plans"),
                 {"unit": str(city.south.pk), "period_start": today, "seed": "5",
                  "fraction": "0.2"}),
        ],
        "billing": [
            Form("退补计算", world.billing, "POST", reverse("billing:back_billing_new"),
                 {"case": str(world.case.pk), "method": "multiplier",
                  "period_start": "2026-10-01", "period_end": "2026-10-20",
                  "baseline_start": "2026-09-01", "baseline_end": "2026-10-01",
                  "correct_points": "6", "confirm_over_bound": "1", "shown_amount": "1"}),
            Form("退补计算（打开）", world.billing, "GET", reverse("billing:back_billing_new"),
                 {"case": str(world.case.pk)}),
            Form("退补列表", world.billing, "GET", reverse("billing:back_billings"),
                 {"case": str(world.case.pk), "group": str(world.group.pk), "status": "all",
                  "page": "1"}),
            Form("出账", world.billing, "POST", reverse("billing:runs"), {"period": "2026-10"}),
        ],
        "lineloss": [
            Form("线损报表", world.admin, "GET", reverse("lineloss:report"),
                 {"period": "2026-10"}),
            Form("线损导出", world.admin, "GET", reverse("lineloss:export", args=["csv"]),
                 {"period": "2026-10"}),
            Form("台区线损", world.admin, "GET",
                 reverse("lineloss:area", args=[city.south_area.pk]), {"period": "2026-10"}),
        ],
        "anomalies": [
            Form("异常列表", world.admin, "GET", reverse("anomalies:list"),
                 {"status": "open", "page": "1"}),
            Form("发联系单", world.admin, "POST",
                 reverse("anomalies:sheet_send", args=[world.case.pk]), {"request": "请核查"}),
        ],
        "labels": [
            Form("打印标签", world.admin, "POST", reverse("labels:print"),
                 {"source": "points", "id": str(world.point.pk), "layout": "a4-3x8"}),
            Form("扫码记录检查", world.field_staff, "POST",
                 reverse("labels:inspection", args=[world.token]),
                 {"finding": "unregistered", "note": "楼道新增", "found_location": "3幢",
                  "found_count": "1"}),
        ],
        "registry": [
            Form("基准户查询", world.admin, "GET", reverse("registry:group_search"),
                 {"unit": str(city.south.pk), "customer": "中国", "account_number": "1702",
                  "name": "基准", "address": "越城", "created_from": "2020-01-01",
                  "created_to": "2027-01-01", "page": "1"}),
            Form("互感器倍率与电价", world.admin, "POST",
                 reverse("registry:group_terms", args=[world.group.pk]),
                 {"ct_ratio": "2", "tariff_code": "LV", "from_date": "2026-10-01",
                  "reason": "换表"}),
            Form("修改子户", world.admin, "POST",
                 reverse("registry:point_detail", args=[world.point.pk]),
                 {"name": "新户名", "device_address": "新地址", "reason": "更正",
                  "area_number": city.south_area.number,
                  "access_point_number": city.south_place.number}),
            Form("点位统计", world.admin, "GET", reverse("registry:statistics"), {"page": "1"}),
        ],
        "workorders": [
            Form("变更申请", world.admin, "POST",
                 reverse("workorders:group_start", args=[world.group.pk, "change"]),
                 {"handler_name": "张三", "handler_phone": "13800000000", "note": "加点"}),
            Form("合同", world.admin, "POST",
                 reverse("workorders:contract", args=[world.contract_order.pk]),
                 {"number": "HT-1", "start_date": today, "end_date": "2027-12-31",
                  "approved_by": "李四", "approved_date": today, "signed_date": today}),
            Form("更正接入点", world.admin, "POST",
                 reverse("workorders:line_place", args=[world.contract_order.pk, line.pk]),
                 {"access_point_number": city.south_place.number}),
            Form("拆表日期", world.admin, "POST",
                 reverse("workorders:closure", args=[world.closure_order.pk]),
                 {"closure_date": today}),
            Form("提交", world.admin, "POST",
                 reverse("workorders:complete", args=[world.closure_order.pk]),
                 {"note": "已受理", "version": "1"}),
            Form("退回", world.admin, "POST",
                 reverse("workorders:return", args=[world.contract_order.pk]),
                 {"reason": "资料不全"}),
            Form("修改申请信息", world.admin, "POST",
                 reverse("workorders:application_edit", args=[world.closure_order.pk]),
                 {"handler_name": "张三", "handler_id_number": "11010519491231002X",
                  "handler_phone": "0575-88123456", "sms_number": "13800000000",
                  "outage_contact_phone": "13800000001", "note": "更正", "reason": "客户来电"}),
            Form("撤销工单", world.admin, "POST",
                 reverse("workorders:withdraw", args=[world.contract_order.pk]),
                 {"reason": "客户取消", "confirm": "on"}),
            Form("工单列表", world.admin, "GET", reverse("workorders:list"),
                 {"view": "open", "page": "1"}),
        ],
        "outages": [
            Form("停电计划", world.admin, "POST", reverse("outages:list"),
                 {"unit": str(city.south.pk), "kind": "planned",
                  "starts_at": "2026-12-01T08:00", "ends_at": "2026-12-01T12:00",
                  "reason": "线路检修", "areas": city.south_area.number, "access_points": ""}),
            Form("停电通知模板", world.admin, "POST", reverse("outages:template"),
                 {"text": "{customer}：{window}停电，{count}个用电点。", "note": "改短",
                  "based_on": str(notice_template_current().version)}),
            Form("发送停电通知", world.admin, "POST",
                 reverse("outages:send", args=[outage.pk if outage else 0]),
                 {"confirm": "1", "preview": ""}),
            Form("重发停电通知", world.admin, "POST",
                 reverse("outages:resend", args=[outage.pk if outage else 0]),
                 {"notice": "1", "confirm": "1"}),
        ],
    }  # fmt: skip
    return every[app]


def hostile_answers(form: Form) -> list[str]:
    """What went wrong, for each hostile value in each field: a 5xx, an English page, or a
    refusal that says nothing."""
    client = Client(raise_request_exception=False)
    client.force_login(form.user)
    wrong = []
    for name in form.data:
        for value in HOSTILE:
            with transaction.atomic():
                response = form.send(client, {name: value})
                transaction.set_rollback(True)
            shown = shown_messages(response)
            where = f"{form.name} {name}={value[:20]!r}"
            if response.status_code >= 500:
                wrong.append(f"{where}: {response.status_code}")
            elif any(not CHINESE.search(text) for text in shown):
                wrong.append(f"{where}: not in Chinese: {shown}")
            elif response.status_code >= 400 and not shown:
                wrong.append(f"{where}: {response.status_code} without a message")
    return wrong


class TestEveryFormAnswersHostileValuesWithAMessage:
    @pytest.mark.parametrize(
        "app",
        ["inspections", "billing", "lineloss", "anomalies", "labels", "registry", "workorders",
         "outages"],
    )  # fmt: skip
    def test_no_value_makes_a_server_error(self, world, app):
        wrong = [problem for form in forms_of(app, world) for problem in hostile_answers(form)]

        assert wrong == []


def post(client: Client, url: str, data: dict[str, str]) -> tuple[int, list[str]]:
    response = client.post(url, data, follow=True)
    return response.status_code, shown_messages(response)


class TestTheValuesFromTheIssue:
    def plan_form(self, world: World, **values: str) -> dict[str, str]:
        return {"unit": str(world.city.south.pk), "period_start": "2026-12-01", "seed": "5",
                "fraction": "0.2", **values}  # fmt: skip

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"fraction": "abc"}, "抽检比例：应为 0.2 到 1 之间的小数，例如 0.2。"),
            ({"fraction": "NaN"}, "抽检比例：应为 0.2 到 1 之间的小数，例如 0.2。"),
            ({"seed": str(2**70)}, "随机种子：应为 0 到 9223372036854775807 之间的整数。"),
            ({"seed": "abc"}, "随机种子：应为 0 到 9223372036854775807 之间的整数。"),
            ({"unit": "abc"}, "供电单位：请从列表中选择。"),
            ({"period_start": "0000-01-01"}, "检查期开始：应为日期，例如 2026-12-01。"),
            (
                {"period_start": "9999-12-31"},
                "检查期开始：日期应在 1900-01-01 到 2999-12-31 之间。",
            ),
        ],
    )
    def test_an_inspection_plan_from_bad_numbers_is_refused_and_none_is_made(
        self, client, world, values, message
    ):
        client.force_login(world.field_staff)

        status, shown = post(client, reverse("inspections:plans"), self.plan_form(world, **values))

        # Shown beside its field (the label is the field's own), the form kept as typed.
        assert (status, shown) == (400, [message.split("：", 1)[1]])
        assert InspectionPlan.objects.count() == 1

    def test_a_plan_from_good_numbers_is_made(self, client, world):
        client.force_login(world.field_staff)

        client.post(reverse("inspections:plans"), self.plan_form(world, seed="42", fraction="0.5"))

        plan = InspectionPlan.objects.latest("pk")
        assert (plan.seed, plan.fraction, plan.period_start) == (
            42, Decimal("0.500"), dt.date(2026, 12, 1),
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("correct_points", "message"),
        [
            ("999999999999999", "正确点数不能超过 10000。"),
            (str(2**70), "正确点数不能超过 10000。"),
            ("abc", "请填写现场核实的正确点数（含基准户）。"),
        ],
    )
    def test_back_billing_for_an_impossible_number_of_points_is_refused(
        self, client, world, correct_points, message
    ):
        client.force_login(world.billing)

        status, shown = post(
            client,
            reverse("billing:back_billing_new"),
            {"case": str(world.case.pk), "method": "multiplier", "period_start": "2026-10-01",
             "period_end": "2026-10-20", "correct_points": correct_points,
             "confirm_over_bound": "1"},
        )  # fmt: skip

        assert (status, shown) == (400, [message])
        assert BackBilling.objects.count() == 0

    def test_a_refused_back_billing_keeps_what_was_typed_and_says_so_beside_the_field(
        self, client, world
    ):
        client.force_login(world.billing)

        response = client.post(
            reverse("billing:back_billing_new"),
            {"case": str(world.case.pk), "method": "own_history", "period_start": "2026-10-01",
             "period_end": "2026-10-20", "baseline_start": "2026-08-01", "baseline_end": "",
             "correct_points": ""},
        )  # fmt: skip
        page = response.content.decode()

        assert response.status_code == 400
        assert (
            '<span class="field-error" id="error-baseline_end" role="alert">'
            "请同时填写正常期间的开始和结束日期，或都不填由系统自动选取。</span>"
        ) in page
        assert 'name="baseline_start" value="2026-08-01"' in page
        assert 'name="period_end" value="2026-10-20"' in page
        assert BackBilling.objects.count() == 0

    @pytest.mark.parametrize(
        ("period", "message"),
        [
            ("0000-01", "账期“0000-01”的年份应在 1900 到 2999 之间。"),
            ("9999-12", "账期“9999-12”的年份应在 1900 到 2999 之间。"),
            ("abc", "账期“abc”格式不正确，应为 YYYY-MM，例如 2026-10。"),
        ],
    )
    def test_a_month_that_cannot_be_is_named_on_the_line_loss_and_billing_pages(
        self, client, world, period, message
    ):
        client.force_login(world.billing)

        report = client.get(reverse("lineloss:report"), {"period": period})
        run = client.post(reverse("billing:runs"), {"period": period}, follow=True)

        assert (report.status_code, shown_messages(report)) == (200, [message])
        assert (run.status_code, shown_messages(run)) == (400, [message])  # beside the month

    def test_a_nul_byte_is_refused_before_anything_is_read(self, client, world):
        client.force_login(world.admin)

        response = client.post(
            reverse("anomalies:sheet_send", args=[world.case.pk]), {"request": "请\x00核查"}
        )

        assert (response.status_code, shown_messages(response)) == (
            400,
            ["请求中含有空字符（NUL），已拒绝：请删除后重新提交。"],
        )
        assert ContactSheet.objects.count() == 0

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"note": "说" * 501}, "说明：不能超过 500 个字符（现有 501 个）。"),
            (
                {"found_location": "幢" * 301},
                "未登记点位位置：不能超过 300 个字符（现有 301 个）。",
            ),
            ({"found_count": str(2**70)}, "未登记点位数：应为 0 到 100000 之间的整数。"),
            ({"found_count": "abc"}, "未登记点位数：应为 0 到 100000 之间的整数。"),
        ],
    )
    def test_an_inspection_result_out_of_bounds_is_refused_and_nothing_recorded(
        self, client, world, values, message
    ):
        client.force_login(world.field_staff)

        status, shown = post(
            client,
            reverse("labels:inspection", args=[world.token]),
            {"finding": "unregistered", "note": "", "found_location": "3幢", "found_count": "1",
             **values},
        )  # fmt: skip

        assert (status, shown) == (400, [message.split("：", 1)[1]])  # beside its field
        assert InspectionResult.objects.count() == 0

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"request": "查" * 501}, "核查要求：不能超过 500 个字符（现有 501 个）。"),
        ],
    )
    def test_an_over_long_contact_sheet_is_refused_and_none_sent(
        self, client, world, values, message
    ):
        client.force_login(world.admin)

        status, shown = post(client, reverse("anomalies:sheet_send", args=[world.case.pk]), values)

        assert (status, shown) == (400, [message.split("：", 1)[1]])  # beside its field
        assert ContactSheet.objects.count() == 0

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"reason": "因" * 301}, "不能超过 300 个字符（现有 301 个）。"),
        ],
    )
    def test_an_outage_from_bad_values_is_refused_and_none_planned(
        self, client, world, values, message
    ):
        client.force_login(world.admin)

        status, shown = post(
            client,
            reverse("outages:list"),
            {"unit": str(world.city.south.pk), "kind": "planned",
             "starts_at": "2026-12-01T08:00", "ends_at": "2026-12-01T12:00",
             "reason": "线路检修", "areas": world.city.south_area.number, **values},
        )  # fmt: skip

        assert (status, shown) == (400, [message])  # beside the field, the form kept
        assert Outage.objects.count() == 0
