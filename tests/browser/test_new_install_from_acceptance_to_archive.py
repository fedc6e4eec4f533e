from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from refmeter.registry.models import Group
from refmeter.workorders.models import Step, WorkOrder
from tests import factories
from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spreadsheets"


def said(page, text: str) -> None:
    """Wait for the confirmation the page shows after an action."""
    page.locator(".messages").get_by_text(text).wait_for()


def complete(page, step: str) -> None:
    if step in ("安装信息录入", "拆表", "归档"):  # the registry changes: the page asks first
        page.get_by_test_id("confirm-complete").check()
    page.get_by_role("button", name=f"完成“{step}”并提交").click()
    said(page, "已提交，工单进入")


class TestNewInstall:
    def test_an_administrator_runs_a_new_install_from_acceptance_to_archive(
        self, page, live_server, city, nearby_index, tmp_path
    ):
        factories.customer(actor=city.south_admin, unit=city.south, name="中国电信股份有限公司")
        factories.device_type(actor=city.south_admin, name="楼道EPON设备")
        today = timezone.localdate()
        connected = today - dt.timedelta(days=3)
        scan = tmp_path / "scan.pdf"
        scan.write_bytes(b"%PDF-1.4 scanned document")

        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名").fill("south_admin")
        page.get_by_label("密码").fill("correct-horse-battery")
        page.get_by_role("button", name="登录").click()
        page.locator("summary", has_text="业务").click()
        page.get_by_role("link", name="工单", exact=True).click()
        page.get_by_role("heading", name="工单").wait_for()
        page.locator("main").get_by_role("link", name="新装受理").click()
        # the order list's own search field is labelled with 客户 too: wait for the form
        page.get_by_role("button", name="创建工单").wait_for()
        page.locator("select[name=customer]").select_option(label="中国电信股份有限公司")
        page.get_by_label("单点设备类型").select_option(label="楼道EPON设备 400W")
        page.get_by_label("经办人", exact=True).fill("张三")
        page.get_by_role("button", name="创建工单").click()

        page.get_by_label("接电申请清单（xlsx/xls/ods）").set_input_files(
            str(FIXTURES / "application_list_wps_style.xlsx")
        )
        page.get_by_role("button", name="导入清单").click()
        said(page, "已导入：新增 3 个，取消 0 个。")
        complete(page, "受理")

        page.get_by_role("button", name="生成户号并解析接入点").click()
        said(page, "生成户号 3 个，自动解析接入点 3 个，待人工确认 0 个。")
        complete(page, "勘察")

        page.get_by_label("合同编号").fill("HT-2026-001")
        page.get_by_label("合同生效日期").fill(connected.isoformat())
        page.get_by_label("合同到期日期").fill((connected + dt.timedelta(days=1825)).isoformat())
        page.get_by_label("审批人", exact=True).fill("王主任")
        page.get_by_label("审批日期").fill(connected.isoformat())
        page.get_by_label("签订日期").fill(connected.isoformat())
        page.get_by_role("button", name="保存合同").click()
        said(page, "合同已保存。")
        complete(page, "合同")

        page.get_by_label("接电日期").fill(connected.isoformat())
        page.get_by_label("参考表资产编号").fill("3310009998887")
        page.get_by_role("button", name="保存接电信息").click()
        said(page, "接电信息已保存。")
        complete(page, "接电")

        page.get_by_label("全部点位的安装日期").fill(connected.isoformat())
        page.get_by_role("button", name="全部填入").click()
        said(page, "已录入安装日期 3 个。")
        complete(page, "安装信息录入")

        for kind in ["申报表", "接电申请清单", "点位现场确认清单", "现场安装清单", "合同及附件"]:
            page.get_by_label("资料类型").select_option(label=kind)
            page.get_by_label("文件", exact=True).set_input_files(str(scan))
            page.get_by_role("button", name="上传", exact=True).click()
            said(page, "资料已上传。")
        page.get_by_test_id("confirm-complete").check()  # archive cannot be sent back
        page.get_by_role("button", name="完成“归档”并提交").click()
        said(page, "已提交，工单进入“已完成”。")
        save_screenshot(page, "new-install-archived")
        page.get_by_role("link", name="查看群组").click()

        assert page.get_by_test_id("multiplier").inner_text() == "3"
        order = WorkOrder.objects.get()
        assert order.step == Step.DONE
        group = Group.objects.get(pk=order.group_id)
        assert sorted(group.points.values_list("account_number", flat=True)) == [
            "1702000001",
            "1702000002",
            "1702000003",
        ]
        assert order.events.filter(kind="completed").count() == 6
