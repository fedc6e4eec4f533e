"""`refmeter check-list`: the acceptance checks of an attachment-4 list, from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from refmeter.audit.models import AuditEntry
from refmeter.registry.models import Point
from refmeter.workorders.models import WorkOrder
from tests import factories

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spreadsheets"


def list_file(tmp_path: Path, *rows: list[object], base: str = "") -> Path:
    """An attachment-4 list as a customer sends it: title, header block, then the table."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["虚拟倍率客户接电申请清单"])
    sheet.append(["设备类型：楼道EPON设备", "", "", "虚拟户号：", base])
    sheet.append(["序号", "点位名称", "接电位置", "就近户号/局号（或杆号/箱号）", "备注"])
    for index, row in enumerate(rows, start=1):
        sheet.append([index, *row])
    path = tmp_path / "list.xlsx"
    book.save(path)
    return path


def check(path: Path, *options: str) -> tuple[dict, str]:
    """The command's JSON report, and its refusal ('' when it exits 0)."""
    output = io.StringIO()
    try:
        call_command("check_list", str(path), "--format", "json", *options, stdout=output)
    except CommandError as refusal:
        return json.loads(output.getvalue()), str(refusal)
    return json.loads(output.getvalue()), ""


def places(report: dict) -> list[tuple]:
    return [
        (line["row_number"], line["access_point_number"], line["access_point_name"],
         line["area_number"], line["area_name"], line["unresolved"])
        for line in report["lines"]
    ]  # fmt: skip


@pytest.fixture
def group(city):
    """Base account 1702000001 with sub-accounts 1702000002-1702000004 (虚拟子户0-2)."""
    device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3,
        device=device,
    )  # fmt: skip


class TestAListWithProblems:
    def test_an_unknown_nearby_number_and_a_repeated_row_are_both_refused(
        self, city, nearby_index, tmp_path
    ):
        path = list_file(
            tmp_path,
            ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
            ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
            ["东湖花园1幢", "1幢", "1701636799", "新增"],
        )
        written = (AuditEntry.objects.count(), Point.objects.count(), WorkOrder.objects.count())

        report, refusal = check(path)

        problems = [
            "第 5 行 B 列（点位名称）：与第 4 行是同一个点位（名称和接电位置相同）。",
            "第 6 行 D 列（就近户号/局号）：就近户号/局号 1701636799 在营销系统索引中不存在。",
        ]
        assert refusal == "清单有问题：\n" + "\n".join(problems)
        assert report["problems"] == problems
        assert places(report) == [
            (4, "33503000009083799", "接入点3799", "3310000002", "测试0002#配", None),
            (5, "33503000009083799", "接入点3799", "3310000002", "测试0002#配", None),
            (6, None, None, None, None, "就近户号/局号 1701636799 在营销系统索引中不存在。"),
        ]
        assert (
            AuditEntry.objects.count(), Point.objects.count(), WorkOrder.objects.count()
        ) == written  # fmt: skip

    def test_a_customers_list_checked_before_the_index_is_loaded_names_every_number(self, city):
        report, refusal = check(FIXTURES / "application_list_wps_style.xlsx")

        assert report["problems"] == [
            "第 6 行 D 列（就近户号/局号）：就近户号/局号 1701636729 在营销系统索引中不存在。",
            "第 7 行 D 列（就近户号/局号）：就近户号/局号 1701636730 在营销系统索引中不存在。",
            "第 9 行 D 列（就近户号/局号）：就近户号/局号 1701636731 在营销系统索引中不存在。",
        ]
        assert refusal.startswith("清单有问题：\n第 6 行 D 列")

    def test_a_change_list_is_checked_against_the_group_it_names(
        self, city, nearby_index, group, tmp_path, settings
    ):
        settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 4
        path = list_file(
            tmp_path,
            ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
            ["虚拟子户0", "越城区城南街道0幢", "1701636729", "新增"],
            ["东湖花园1幢", "1幢", "1701636730", "新增"],
            ["不存在的点位", "某处", "1701636729", "取消"],
            ["虚拟子户1", "越城区城南街道1幢", "1702000003", "取消"],
            ["南苑小区", "", "1701636729", "新增"],
            base="1702000001",
        )

        report, refusal = check(path)

        assert report["problems"] == [
            "第 9 行 C 列（接电位置）：接电位置不能为空。",
            "第 5 行 B 列（点位名称）：该点位已在群组中（户号 1702000002）。",
            "第 7 行 B 列（点位名称）：要取消的点位“不存在的点位”不在本群组的在用虚拟子户中。",
            # 3 active + 3 added - 1 cancelled
            "办理后群组将有 5 个在用虚拟子户，超过上限 4 个；超出部分请申请新的参考表（新群组）。",
        ]
        assert report["group"] == {"base_account_number": "1702000001", "active_sub_accounts": 3}
        assert [(line["row_number"], line["account_number"]) for line in report["lines"]] == [
            (4, None), (5, None), (6, None), (7, None), (8, "1702000003"),
        ]  # fmt: skip
        assert places(report)[4] == (
            8, "33503000009083788", "接入点3788", "3310000001", "测试0001#配", None,
        )  # fmt: skip
        assert refusal

    def test_without_a_base_account_the_list_is_a_new_install_and_cannot_cancel(
        self, city, nearby_index, tmp_path
    ):
        path = list_file(
            tmp_path,
            ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
            ["南苑小区", "3幢", "1701636729", "取消"],
        )

        report, refusal = check(path)

        assert report["group"] is None
        assert report["problems"] == ["第 5 行 E 列（备注）：新装工单不能取消点位。"]
        assert refusal == "清单有问题：\n第 5 行 E 列（备注）：新装工单不能取消点位。"
        assert places(report)[1] == (5, None, None, None, None, "新装工单不能取消点位。")


class TestACleanList:
    def test_a_customers_list_exits_zero_with_each_points_access_point_and_area(
        self, city, nearby_index
    ):
        output = io.StringIO()

        call_command("check_list", str(FIXTURES / "application_list_wps_style.xlsx"), stdout=output)

        assert output.getvalue().splitlines() == [
            "设备类型：楼道EPON设备  虚拟户号：（未填，按新装检查）",
            "  第 6 行 新增 城南新村56幢电信车库 | 56幢2单元计量箱内 | 1701636729"
            " → 接入点 33503000009083788 接入点3788，台区 3310000001 测试0001#配",
            "  第 7 行 新增 南江枫林28幢2单元 | 终端箱下桩头 | 1701636730"
            " → 接入点 33503000009083799 接入点3799，台区 3310000002 测试0002#配",
            "  第 9 行 新增 南苑小区3幢机房 | 3幢1单元表箱 | 1701636731"
            " → 接入点 33503000009083788 接入点3788，台区 3310000001 测试0001#配",
            "共 3 个点位，0 个问题。",
        ]

    def test_the_json_report_resolves_every_row(self, city, nearby_index):
        report, refusal = check(FIXTURES / "application_list_legacy.xls")

        assert (refusal, report["problems"], report["group"]) == ("", [], None)
        assert places(report) == [
            (6, "33503000009083788", "接入点3788", "3310000001", "测试0001#配", None),
            (7, "33503000009083799", "接入点3799", "3310000002", "测试0002#配", None),
            (9, "33503000009083788", "接入点3788", "3310000001", "测试0001#配", None),
        ]


class TestActingUser:
    def test_a_user_resolves_only_places_in_their_own_units(self, city, nearby_index):
        report, refusal = check(
            FIXTURES / "application_list_legacy.xls", "--user", city.north_clerk.username
        )

        assert (refusal, report["problems"]) == ("", [])
        assert [line["unresolved"] for line in report["lines"]] == [
            "接入点 33503000009083788 不存在或不属于您的单位。",
            "接入点 33503000009083799 不存在或不属于您的单位。",
            "接入点 33503000009083788 不存在或不属于您的单位。",
        ]

    def test_an_unknown_user_is_refused(self, city):
        with pytest.raises(CommandError) as refusal:
            call_command(
                "check_list", str(FIXTURES / "application_list_legacy.xls"), "--user", "nobody",
                stdout=io.StringIO(),
            )  # fmt: skip

        assert str(refusal.value) == "用户 nobody 不存在或已停用。"

    def test_another_units_group_is_not_found(self, city, nearby_index, group, tmp_path):
        path = list_file(
            tmp_path, ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"], base="1702000001"
        )

        report, refusal = check(path, "--user", city.north_clerk.username)

        assert (report["group"], report["problems"], refusal) == (None, [], "")
