from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pypdfium2
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.common.spreadsheets import open_sheets
from refmeter.organisations.models import Role
from refmeter.spreadsheets.application_list import parse_application_list
from refmeter.workorders import services
from refmeter.workorders.models import OrderKind, Step, WorkOrder
from tests import factories
from tests.workorders.test_processes import NOW, application_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spreadsheets"


@pytest.fixture
def clerk(city):
    return city.south_clerk


@pytest.fixture
def surveyed_order(city, nearby_index):
    """A new install at the contract step, its list imported and its survey done."""
    admin = city.south_admin
    customer = factories.customer(actor=admin, unit=city.south, name="中国电信股份有限公司")
    device = factories.device_type(actor=admin, name="楼道EPON设备")
    order = services.order_new_install_start(
        actor=admin,
        customer_id=customer.pk,
        device_type_id=device.pk,
        application=services.Application(),
        now=NOW,
    )
    services.order_lines_import(actor=admin, order_id=order.pk, rows=application_rows(), now=NOW)
    services.order_step_complete(actor=admin, order_id=order.pk, now=NOW)
    services.order_survey_resolve(actor=admin, order_id=order.pk, now=NOW)
    services.order_step_complete(actor=admin, order_id=order.pk, now=NOW)
    return order


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


class TestStartingAndImporting:
    def test_a_clerk_starts_a_new_install_and_imports_the_customers_ods_list(
        self, client, city, clerk, nearby_index
    ):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
        client.force_login(clerk)

        response = client.post(
            reverse("workorders:new_install"),
            {"customer": customer.pk, "device_type": device.pk, "handler_name": "张三"},
        )
        order = WorkOrder.objects.get()
        with (FIXTURES / "application_list.ods").open("rb") as upload:
            imported = client.post(
                reverse("workorders:lines_import", args=[order.pk]), {"file": upload}, follow=True
            )

        assert response.status_code == 302
        assert order.step == Step.ACCEPTANCE
        assert "已导入：新增 3 个，取消 0 个。" in imported.content.decode()
        assert list(order.lines.values_list("name", flat=True)) == [
            "城南新村56幢电信车库",
            "南江枫林28幢2单元",
            "南苑小区3幢机房",
        ]

    def test_a_bad_list_shows_every_problem_and_imports_nothing(
        self, client, city, clerk, nearby_index
    ):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        device = factories.device_type(actor=city.south_admin)
        order = services.order_new_install_start(
            actor=clerk,
            customer_id=customer.pk,
            device_type_id=device.pk,
            application=services.Application(),
            now=NOW,
        )
        book = openpyxl.Workbook()
        book.active.append(["序号", "点位名称", "接电位置", "就近户号/局号", "备注"])
        book.active.append([1, "甲", "1幢", "1709999999", "新增"])
        book.active.append([2, "乙", "", "1701636729", "新增"])
        buffer = io.BytesIO()
        book.save(buffer)
        buffer.seek(0)
        buffer.name = "list.xlsx"
        client.force_login(clerk)

        page = client.post(
            reverse("workorders:lines_import", args=[order.pk]), {"file": buffer}, follow=True
        ).content.decode()

        assert "第 3 行 C 列（接电位置）：接电位置不能为空。" in page
        assert (
            "第 2 行 D 列（就近户号/局号）：就近户号/局号 1709999999 在营销系统索引中不存在。"
            in page
        )
        assert order.lines.count() == 0

    def test_a_file_that_is_not_a_spreadsheet_is_refused_clearly(self, client, city, clerk):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        device = factories.device_type(actor=city.south_admin)
        order = services.order_new_install_start(
            actor=clerk,
            customer_id=customer.pk,
            device_type_id=device.pk,
            application=services.Application(),
            now=NOW,
        )
        client.force_login(clerk)
        upload = io.BytesIO(b"%PDF-1.4 this is a scan")
        upload.name = "list.xlsx"

        page = client.post(
            reverse("workorders:lines_import", args=[order.pk]), {"file": upload}, follow=True
        ).content.decode()

        assert (
            "无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。" in page
        )
        assert order.lines.count() == 0

    def test_the_blank_template_reads_back_as_an_empty_application_list(self, client, clerk):
        client.force_login(clerk)

        response = client.get(reverse("workorders:template"))

        parsed = parse_application_list(open_sheets(response.content)[0].rows)
        assert [str(problem) for problem in parsed.problems] == ["清单中没有用电点。"]


class TestStepsOnThePage:
    def test_the_wrong_role_is_refused_and_the_order_stays(self, client, city, surveyed_order):
        client.force_login(city.south_clerk)

        response = client.post(reverse("workorders:complete", args=[surveyed_order.pk]))

        assert response.status_code == 403
        assert "“合同”环节应由客户经理办理，您的岗位角色无权操作。" in response.content.decode()
        surveyed_order.refresh_from_db()
        assert surveyed_order.step == Step.CONTRACT

    def test_archiving_without_the_ticked_confirmation_is_refused(
        self, client, city, surveyed_order
    ):
        WorkOrder.objects.filter(pk=surveyed_order.pk).update(step=Step.ARCHIVE)
        completed = surveyed_order.events.filter(kind="completed").count()
        client.force_login(city.south_admin)
        url = reverse("workorders:complete", args=[surveyed_order.pk])

        unconfirmed = client.post(url, {"note": "归档"}).content.decode()
        confirmed = client.post(url, {"note": "归档", "confirm": "on"}).content.decode()

        refusal = "不能退回：请勾选“我已核对，确认提交”。"
        assert refusal in unconfirmed
        assert 'data-testid="confirm-complete"' in unconfirmed
        assert refusal not in confirmed  # the next refusal is the order's own: scans missing
        surveyed_order.refresh_from_db()
        assert surveyed_order.step == Step.ARCHIVE
        assert surveyed_order.events.filter(kind="completed").count() == completed

    def test_another_units_user_sees_no_order(self, client, city, surveyed_order):
        client.force_login(city.north_admin)

        response = client.get(reverse("workorders:detail", args=[surveyed_order.pk]))

        assert response.status_code == 404

    def test_the_order_list_costs_the_same_queries_for_2_or_12_orders(
        self, client, city, surveyed_order
    ):
        def change_order():
            group = factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
            )
            order = services.order_group_start(
                actor=city.south_admin,
                group_id=group.pk,
                kind=OrderKind.CHANGE,
                application=services.Application(),
                now=NOW,
            )
            services.order_change_line_add(
                actor=city.south_admin,
                order_id=order.pk,
                account_number=group.points.get(kind="sub").account_number,
                now=NOW,
            )

        client.force_login(city.south_admin)
        url = reverse("workorders:list") + "?view=open"
        change_order()
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for _index in range(10):
            change_order()

        with CaptureQueriesContext(connection) as many:
            response = client.get(url)

        assert len(response.context["rows"]) == 12
        assert len(many.captured_queries) == len(few.captured_queries)


class TestPrintedLists:
    def test_the_confirmation_list_pdf_is_chinese_text_with_an_embedded_font(
        self, client, city, surveyed_order
    ):
        client.force_login(city.south_admin)

        response = client.get(
            reverse("workorders:document", args=[surveyed_order.pk, "confirmation", "pdf"])
        )

        assert response["Content-Type"] == "application/pdf"
        text = pdf_text(response.content)
        assert "点位现场确认清单" in text
        assert "城南新村56幢电信车库（56幢2单元计量箱内）" in text
        assert "1702000001" in text and "33503000009083788" in text
        assert "客户签章" in text
        assert b"/FontFile2" in response.content  # the TrueType outlines travel with the PDF

    def test_the_confirmation_list_xlsx_has_the_attachment_5_columns(
        self, client, city, surveyed_order
    ):
        client.force_login(city.south_admin)

        response = client.get(
            reverse("workorders:document", args=[surveyed_order.pk, "confirmation", "xlsx"])
        )

        sheet_rows = open_sheets(response.content)[0].rows
        header = next(row for row in sheet_rows if row and row[0] == "序号")
        assert header == [
            "序号",
            "户号",
            "户名",
            "设备地址",
            "就近户号",
            "接入点编号",
            "接入点名称",
            "变更",
            "日期",
            "基准户号",
        ]
        first = sheet_rows[sheet_rows.index(header) + 1]
        assert first[:3] == [1, "1702000001", "中国电信股份有限公司"]
        assert first[5:8] == ["33503000009083788", "接入点3788", "新装"]
        assert first[9] == "1702000001"

    def test_the_contract_annex_lists_every_point(self, client, city, surveyed_order):
        client.force_login(city.south_admin)

        response = client.get(
            reverse("workorders:document", args=[surveyed_order.pk, "annex", "pdf"])
        )

        text = pdf_text(response.content)
        assert "供用电合同附件：虚拟子户清单" in text
        assert "用电点总数（综合倍率）：3" in text


class TestAcceptanceForm:
    def test_it_prints_the_application_and_its_list_for_signature(
        self, client, city, surveyed_order
    ):
        WorkOrder.objects.filter(pk=surveyed_order.pk).update(
            handler_name="张三", handler_phone="13800138000", sms_number="13900139000",
            points_applied=2,
        )  # fmt: skip
        client.force_login(city.south_admin)

        response = client.get(
            reverse("workorders:document", args=[surveyed_order.pk, "acceptance", "pdf"])
        )

        assert response["Content-Type"] == "application/pdf"
        text = " ".join(pdf_text(response.content).split())
        for expected in (
            "参考表客户业务受理单", f"工单号 {surveyed_order.number}", "中国电信股份有限公司",
            "经办人 张三", "13800138000", "短信号码 13900139000", "申请虚拟点数 2",
            "楼道EPON设备", "城南新村56幢电信车库", "1702000001", "客户签章", "受理人",
        ):  # fmt: skip
            assert expected in text, expected

    def test_another_units_order_has_no_form(self, client, city, surveyed_order):
        client.force_login(factories.user(unit=city.north, role=Role.CLERK))

        response = client.get(
            reverse("workorders:document", args=[surveyed_order.pk, "acceptance", "pdf"])
        )

        assert response.status_code == 404


class TestArchiveDeadlines:
    def test_overdue_and_due_soon_orders_are_listed(self, client, city, surveyed_order):
        WorkOrder.objects.filter(pk=surveyed_order.pk).update(
            step=Step.ARCHIVE, archive_due_date=dt.date(2026, 10, 15)
        )
        client.force_login(city.south_admin)

        deadlines = client.get(reverse("workorders:deadlines")).context["deadlines"]

        assert [row.number for row in deadlines.overdue] == [surveyed_order.number]
        assert deadlines.due_soon == []

    def test_a_deadline_in_a_year_without_calendar_data_is_flagged(self, city, surveyed_order):
        admin = city.south_admin
        services.contract_save(
            actor=admin,
            order_id=surveyed_order.pk,
            number="HT-1",
            start_date=dt.date(2026, 12, 1),
            end_date=dt.date(2031, 12, 1),
            approved_by="王",
            approved_date=dt.date(2026, 12, 20),
            signed_date=dt.date(2026, 12, 21),
            now=dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC),
        )
        services.order_step_complete(
            actor=admin, order_id=surveyed_order.pk, now=dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC)
        )
        services.connection_record(
            actor=admin,
            order_id=surveyed_order.pk,
            connection_date=dt.date(2026, 12, 28),
            meter_asset_number="3310000777",
            now=dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC),
        )

        order = services.order_step_complete(
            actor=admin, order_id=surveyed_order.pk, now=dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC)
        )

        assert (order.archive_due_date, order.archive_due_unknown) == (None, True)


@pytest.mark.django_db(transaction=True)
class TestStockImportInTheBackground:
    def test_the_upload_becomes_a_job_that_a_worker_runs_and_the_page_shows(self, client, city):
        from refmeter.common.models import Job, JobStatus
        from refmeter.spreadsheets.stock import stock_export

        factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            sub_accounts=2,
        )
        data = stock_export(actor=city.south_admin, as_of=dt.date(2026, 11, 20))
        upload = io.BytesIO(data)
        upload.name = "checked.xlsx"
        client.force_login(city.south_admin)

        response = client.post(reverse("spreadsheets:stock_upload"), {"file": upload})
        queued = Job.objects.get()
        factories.run_queued_tasks()
        page = client.get(response["Location"], headers={"HX-Request": "true"})

        assert queued.status == JobStatus.QUEUED
        job = Job.objects.get()
        assert job.status == JobStatus.SUCCEEDED
        assert job.result["points"] == {"created": 0, "changed": 0, "cancelled": 0, "unchanged": 2}
        assert "已完成" in page.content.decode()
        assert 'hx-trigger="every 1s"' not in page.content.decode()
