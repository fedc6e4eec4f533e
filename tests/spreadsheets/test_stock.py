from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from refmeter.audit.models import AuditEntry
from refmeter.registry.models import Group, Point, PointStatus
from refmeter.spreadsheets.stock import (
    GROUP_SHEET,
    POINT_SHEET,
    UnableToImportStock,
    stock_export,
    stock_import,
)
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def running(city):
    device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
    first = factories.group(
        actor=city.south_admin,
        unit=city.south,
        place=city.south_place,
        sub_accounts=3,
        device=device,
    )
    second = factories.group(
        actor=city.south_admin,
        unit=city.south,
        place=city.south_other_place,
        sub_accounts=2,
        device=device,
        customer_record=first.customer,
    )
    return first, second


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def save(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rows(book, sheet):
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


class TestExport:
    def test_the_check_list_has_every_running_group_and_its_points(self, city, running):
        book = workbook(stock_export(actor=city.south_clerk, as_of=TODAY))

        groups = rows(book, GROUP_SHEET)
        points = rows(book, POINT_SHEET)
        assert groups[0][:4] == ["供电单位编码", "供电单位", "客户名称", "基准户户号"]
        assert [row[3] for row in groups[1:]] == ["1702000001", "1702000005"]
        assert [row[16] for row in groups[1:]] == [4, 3]
        assert [row[1] for row in points[1:]] == [
            "1702000002",
            "1702000003",
            "1702000004",
            "1702000006",
            "1702000007",
        ]
        assert points[1][10] == "在用"

    def test_another_units_groups_are_not_exported(self, city, running):
        book = workbook(stock_export(actor=city.north_clerk, as_of=TODAY))

        assert rows(book, GROUP_SHEET)[1:] == []


class TestRoundTrip:
    def test_export_edit_import_changes_exactly_what_was_edited(self, city, running):
        book = workbook(stock_export(actor=city.south_admin, as_of=TODAY))
        points = book[POINT_SHEET]
        points["C2"] = "城南新村56幢电信车库"  # rename 1702000002
        points["F3"] = city.south_other_place.number  # move 1702000003
        points["J4"] = dt.date(2026, 11, 1)  # cancel 1702000004
        points["K4"] = "已取消"
        points.append(
            [
                "1702000005",
                "1702000099",
                "新登记点位",
                "城北1幢",
                "",
                city.south_place.number,
                "",
                "",
                dt.date(2026, 10, 1),
                None,
                "在用",
            ]
        )
        book[GROUP_SHEET]["K3"] = 2  # CT ratio of the second group
        audit_before = AuditEntry.objects.count()
        last_entry = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()

        result = stock_import(actor=city.south_admin, data=save(book), now=NOW)

        assert result.as_dict() == {
            "groups": {"created": 0, "changed": 1, "unchanged": 1},
            "points": {"created": 1, "changed": 2, "cancelled": 1, "unchanged": 2},
            "dry_run": False,
        }
        assert Point.objects.get(account_number="1702000002").name == "城南新村56幢电信车库"
        assert Point.objects.get(account_number="1702000003").area == city.south_other_area
        cancelled = Point.objects.get(account_number="1702000004")
        assert (cancelled.status, cancelled.active_to_date) == (
            PointStatus.CANCELLED,
            dt.date(2026, 11, 1),
        )
        assert Point.objects.get(account_number="1702000099").active_from_date == dt.date(
            2026, 10, 1
        )
        assert Group.objects.get(pk=running[1].pk).ct_ratio == 2
        assert AuditEntry.objects.count() - audit_before == 5
        assert set(
            AuditEntry.objects.filter(pk__gt=last_entry).values_list("reason", flat=True)
        ) == {"存量核查清单导入"}

    def test_an_unchanged_workbook_changes_nothing(self, city, running):
        data = stock_export(actor=city.south_admin, as_of=TODAY)
        audit_before = AuditEntry.objects.count()

        result = stock_import(actor=city.south_admin, data=data, now=NOW)

        assert result.as_dict()["groups"] == {"created": 0, "changed": 0, "unchanged": 2}
        assert result.as_dict()["points"]["unchanged"] == 5
        assert AuditEntry.objects.count() == audit_before

    def test_new_groups_are_created_with_their_marketing_account_numbers(self, city, running):
        book = workbook(stock_export(actor=city.south_admin, as_of=TODAY))
        book[GROUP_SHEET].append(
            [
                "3350101",
                "",
                "绍兴市交通物业管理有限公司",
                "1701999001",
                "存量基准户",
                "城南1号",
                dt.date(2014, 5, 1),
                "",
                "3310555000111",
                "",
                1,
                "LV",
                "楼道EPON设备",
                city.south_place.number,
                "",
                "",
                2,
            ]
        )
        book[POINT_SHEET].append(
            [
                "1701999001",
                "1701999002",
                "存量子户",
                "城南2号",
                "",
                city.south_place.number,
                "",
                "",
                dt.date(2014, 5, 1),
                None,
                "在用",
            ]
        )

        result = stock_import(actor=city.south_admin, data=save(book), now=NOW)

        assert (result.groups_created, result.points_created) == (1, 1)
        group = Group.objects.get(meter_asset_number="3310555000111")
        assert group.customer.name == "绍兴市交通物业管理有限公司"
        assert sorted(group.points.values_list("account_number", flat=True)) == [
            "1701999001",
            "1701999002",
        ]

    def test_a_dry_run_counts_but_writes_nothing(self, city, running):
        book = workbook(stock_export(actor=city.south_admin, as_of=TODAY))
        book[POINT_SHEET]["C2"] = "改名"

        result = stock_import(actor=city.south_admin, data=save(book), now=NOW, dry_run=True)

        assert (result.dry_run, result.points_changed) == (True, 1)
        assert Point.objects.get(account_number="1702000002").name == "虚拟子户0"


class TestBadWorkbooks:
    def test_every_problem_is_listed_and_nothing_is_written(self, city, running):
        book = workbook(stock_export(actor=city.south_admin, as_of=TODAY))
        book[POINT_SHEET]["C2"] = "本应改名"
        book[POINT_SHEET]["B3"] = "17020"
        book[POINT_SHEET]["F4"] = "33503000000000000"
        book[POINT_SHEET]["K5"] = "停用"
        book[GROUP_SHEET]["M2"] = "交通信号灯"
        points_before = list(Point.objects.values_list("name", "status"))

        with pytest.raises(UnableToImportStock) as refusal:
            stock_import(actor=city.south_admin, data=save(book), now=NOW)

        assert refusal.value.problems == [
            "虚拟子户清单 第 3 行 B 列（户号）：应为 10 位数字，而不是“17020”。",
            "虚拟子户清单 第 5 行 K 列（状态）：状态应为“在用”或“已取消”，而不是“停用”。",
            "基准户核查清单 第 2 行：设备类型“交通信号灯”未登记。",
            "虚拟子户清单 第 4 行：接入点 33503000000000000 不存在或不属于您的单位。",
            "基准户核查清单 第 2 行：设备类型不能通过核查清单修改（系统中为“楼道EPON设备”）。",
        ]
        assert list(Point.objects.values_list("name", "status")) == points_before

    def test_a_workbook_without_the_sheets_is_refused(self, city):
        book = openpyxl.Workbook()
        book.active.append(["随便什么"])

        with pytest.raises(UnableToImportStock) as refusal:
            stock_import(actor=city.south_admin, data=save(book), now=NOW)

        assert refusal.value.problems == [
            "不是系统导出的核查清单：缺少工作表 “基准户核查清单”、“虚拟子户清单”。"
        ]

    def test_the_sub_account_limit_holds_on_import(self, city, running, settings):
        settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 3
        book = workbook(stock_export(actor=city.south_admin, as_of=TODAY))
        book[POINT_SHEET].append(
            [
                "1702000001",
                "1702000098",
                "第四个",
                "城南",
                "",
                city.south_place.number,
                "",
                "",
                dt.date(2026, 10, 1),
                None,
                "在用",
            ]
        )
        before = Point.objects.count()

        with pytest.raises(UnableToImportStock) as refusal:
            stock_import(actor=city.south_admin, data=save(book), now=NOW)

        assert refusal.value.problems == [
            "基准户核查清单 第 2 行（基准户 1702000001）：群组在 2026-10-01 将有 4 个在用虚拟子户，"
            "超过上限 3 个；超出部分请申请新的参考表（新群组）。"
        ]
        assert Point.objects.count() == before


class TestCommandLine:
    def test_export_then_import_stock_reports_counts_as_json(self, city, running, tmp_path):
        path = tmp_path / "stock.xlsx"
        call_command("export_stock", str(path), stdout=io.StringIO())
        output = io.StringIO()

        call_command(
            "import_stock",
            str(path),
            "--dry-run",
            "--user",
            "admin",
            "--format",
            "json",
            stdout=output,
            stderr=io.StringIO(),
        )

        assert json.loads(output.getvalue()) == {
            "groups": {"created": 0, "changed": 0, "unchanged": 2},
            "points": {"created": 0, "changed": 0, "cancelled": 0, "unchanged": 5},
            "dry_run": True,
        }

    def test_a_bad_file_exits_with_every_problem(self, city, tmp_path):
        path = tmp_path / "stock.xlsx"
        path.write_bytes(b"not a workbook")

        with pytest.raises(CommandError) as refusal:
            call_command("import_stock", str(path), "--user", "admin", stderr=io.StringIO())

        assert str(refusal.value) == (
            "未导入，共 1 个问题：\n"
            "无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。"
        )
