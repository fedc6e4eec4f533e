"""The acceptance import and `refmeter check-list` check an attachment-4 list the same way."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from refmeter.common.spreadsheets import open_sheets
from refmeter.organisations.models import Role
from refmeter.workorders import services
from refmeter.workorders.models import OrderKind
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def list_file(tmp_path: Path, *rows: list[object], base: str = "") -> Path:
    book = openpyxl.Workbook()
    book.active.append(["接电申请清单"])
    book.active.append(["设备类型：", "楼道EPON设备", "", "虚拟户号：", base])
    book.active.append(["序号", "点位名称", "接电位置", "就近户号/局号", "备注"])
    for index, row in enumerate(rows, start=1):
        book.active.append([index, *row])
    path = tmp_path / "list.xlsx"
    book.save(path)
    return path


def check_list_problems(path: Path) -> list[str]:
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_list", str(path), "--format", "json", stdout=output)
    return json.loads(output.getvalue())["problems"]


def import_problems(*, actor, order, path: Path) -> list[str]:
    with pytest.raises(services.UnableToProgressOrder) as refusal:
        services.order_lines_import(
            actor=actor, order_id=order.pk, rows=open_sheets(path.read_bytes())[0].rows, now=NOW
        )
    return refusal.value.problems


class TestOneCheckForTheList:
    def test_a_change_list_gets_the_same_problems_from_the_import_and_check_list(
        self, city, nearby_index, tmp_path, settings
    ):
        settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 4
        clerk = factories.user(unit=city.south, role=Role.CLERK)
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=3,
            device=factories.device_type(actor=city.south_admin, name="楼道EPON设备"),
        )  # fmt: skip
        order = services.order_group_start(
            actor=clerk, group_id=group.pk, kind=OrderKind.CHANGE,
            application=services.Application(), now=NOW,
        )  # fmt: skip
        path = list_file(
            tmp_path,
            ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
            ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
            ["虚拟子户0", "越城区城南街道0幢", "1701636729", "新增"],
            ["东湖花园1幢", "1幢", "1701636799", "新增"],
            ["不存在的点位", "某处", "1701636729", "取消"],
            ["虚拟子户1", "越城区城南街道1幢", "1702000003", "取消"],
            ["虚拟子户1", "越城区城南街道1幢", "1702000003", "取消"],
            ["南苑小区", "", "1701636729", "新增"],
            base="1702000001",
        )

        from_import = import_problems(actor=clerk, order=order, path=path)
        from_command = check_list_problems(path)

        assert (
            from_import
            == from_command
            == [
                "第 11 行 C 列（接电位置）：接电位置不能为空。",
                "第 5 行 B 列（点位名称）：与第 4 行是同一个点位（名称和接电位置相同）。",
                "第 6 行 B 列（点位名称）：该点位已在群组中（户号 1702000002）。",
                "第 7 行 D 列（就近户号/局号）：就近户号/局号 1701636799 在营销系统索引中不存在。",
                "第 8 行 B 列（点位名称）：要取消的点位“不存在的点位”不在本群组的在用虚拟子户中。",
                "第 10 行 B 列（点位名称）：与第 9 行是同一个点位（名称和接电位置相同）。",
                "办理后群组将有 5 个在用虚拟子户，超过上限 4 个；超出部分请申请新的参考表（新群组）。",
            ]
        )
        assert order.lines.count() == 0

    def test_a_new_install_list_gets_the_same_problems_from_the_import_and_check_list(
        self, city, nearby_index, tmp_path
    ):
        clerk = factories.user(unit=city.south, role=Role.CLERK)
        order = services.order_new_install_start(
            actor=clerk, customer_id=factories.customer(actor=city.south_admin, unit=city.south).pk,
            device_type_id=factories.device_type(actor=city.south_admin, name="楼道EPON设备").pk,
            application=services.Application(), now=NOW,
        )  # fmt: skip
        path = list_file(
            tmp_path,
            ["北海花苑9幢机柜", "9幢计量箱", "1701636799", "新增"],
            ["南苑小区", "3幢", "1701636729", "取消"],
            ["南苑小区", "3幢", "", "新增"],
        )

        from_import = import_problems(actor=clerk, order=order, path=path)
        from_command = check_list_problems(path)

        assert (
            from_import
            == from_command
            == [
                "第 6 行 D 列（就近户号/局号）：就近户号/局号不能为空。",
                "第 4 行 D 列（就近户号/局号）：就近户号/局号 1701636799 在营销系统索引中不存在。",
                "第 5 行 E 列（备注）：新装工单不能取消点位。",
            ]
        )
