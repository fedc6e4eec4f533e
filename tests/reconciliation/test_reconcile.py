"""Reconciliation with the marketing system: the differences, the command's JSON and exit
codes, the page within the user's units, its export."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from refmeter.organisations.models import Role
from refmeter.reconciliation.services import UnableToReconcile, reconcile
from refmeter.registry.models import PointKind
from tests import factories

AS_OF = dt.date(2026, 11, 1)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "参考表客户"
    sheet.append(["国网绍兴供电公司参考表客户清单"])
    sheet.append(["户号", "户名", "综合倍率", "状态"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _base(group) -> str:
    return group.points.get(kind=PointKind.BASE).account_number


@pytest.fixture
def groups(city):
    """Three south groups (multipliers 3, 5, 1) and one north group (multiplier 2)."""
    south = [
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                        sub_accounts=count)
        for count in (2, 4, 0)
    ]  # fmt: skip
    north = factories.group(
        actor=city.north_admin, unit=city.north, place=city.north_place, sub_accounts=1
    )
    return south, north


class TestTheDifferences:
    def test_two_systems_that_agree_give_an_empty_list(self, city, groups):
        south, north = groups
        rows = [[_base(south[0]), "甲", 3, "在用"], [_base(south[1]), "乙", 5, "在用"],
                [_base(south[2]), "丙", 1, "在用"], [_base(north), "丁", 2, "在用"]]  # fmt: skip

        assert reconcile(_xlsx(rows), AS_OF) == []

    def test_each_kind_of_difference_is_named_with_both_sides(self, city, groups):
        south, north = groups
        factories.readings(south[0], dt.date(2026, 10, 1), [100 + day * 1.5 for day in range(32)])
        rows = [
            [_base(south[0]), "甲", 7, "在用"],  # multiplier 3 here
            [_base(south[1]), "乙", 5, "销户"],  # running here
            ["1799999999", "戊", 4, "在用"],  # unknown here
            [_base(north), "丁", 2, "在用"],
        ]  # south[2] missing from the file

        differences = {item.account_number: item for item in reconcile(_xlsx(rows), AS_OF)}

        assert {number: item.kind for number, item in differences.items()} == {
            _base(south[0]): "multiplier",
            _base(south[1]): "closed_in_marketing",
            "1799999999": "missing_in_refmeter",
            _base(south[2]): "missing_in_marketing",
        }
        multiplier = differences[_base(south[0])]
        assert (multiplier.marketing_multiplier, multiplier.refmeter_multiplier) == (7, 3)
        # October: 31 days x 1.5 kWh a day on the reference meter, CT ratio 1.
        assert multiplier.energy_per_point == Decimal("46.50")
        assert multiplier.misbilled_energy == Decimal("186.00")
        assert differences["1799999999"].refmeter_multiplier is None
        assert differences[_base(south[2])].as_dict()["refmeter"] == {
            "multiplier": 1,
            "status": "在用",
        }

    def test_a_group_closed_only_here_is_named(self, city, groups):
        from refmeter.registry.models import Group, GroupStatus

        south, _north = groups
        Group.objects.filter(pk=south[2].pk).update(
            status=GroupStatus.CLOSED, closed_date=dt.date(2026, 10, 15)
        )

        differences = reconcile([["户号", "综合倍率", "状态"], [_base(south[2]), 1, "在用"]],
                                AS_OF, [city.south])  # fmt: skip

        kinds = {item.account_number: item.kind for item in differences}
        assert kinds[_base(south[2])] == "closed_in_refmeter"

    def test_another_units_accounts_are_left_out_of_a_units_comparison(self, city, groups):
        south, north = groups
        rows = [["户号", "综合倍率", "状态"], [_base(south[0]), 3, "在用"],
                [_base(south[1]), 5, "在用"], [_base(south[2]), 1, "在用"],
                [_base(north), 9, "在用"]]  # fmt: skip

        assert reconcile(rows, AS_OF, [city.south]) == []

    def test_refmeters_side_is_one_query_whatever_the_number_of_groups(self, city, groups):
        south, _north = groups
        rows = [["户号", "综合倍率", "状态"], [_base(south[0]), 3, "在用"]]

        with CaptureQueriesContext(connection) as queries:
            reconcile(rows, AS_OF)

        assert len(queries) == 1


class TestABadFile:
    def test_every_bad_cell_is_named_by_sheet_row_and_column(self, city, groups):
        rows = [["1702", "甲", 0, "暂停"], ["1702000001", "乙", 3, "在用"],
                ["1702000001", "丙", 3, "在用"]]  # fmt: skip

        with pytest.raises(UnableToReconcile) as refused:
            reconcile(_xlsx(rows), AS_OF)

        assert refused.value.problems == [
            "工作表“参考表客户”第 3 行“户号（A）”列：户号“1702”应为 10 位数字。",
            "工作表“参考表客户”第 3 行“综合倍率（C）”列：综合倍率“0”应为 1 到 100000 的整数。",
            "工作表“参考表客户”第 3 行“状态（D）”列：状态“暂停”应为“在用”或“销户”。",
            "工作表“参考表客户”第 5 行“户号（A）”列：户号 1702000001 与第 4 行重复。",
        ]

    def test_a_file_without_the_header_is_refused(self, city):
        with pytest.raises(UnableToReconcile) as refused:
            reconcile([["账号", "数量"]], AS_OF)

        assert "未找到表头" in refused.value.problems[0]


class TestTheCommand:
    def _run(self, path, *extra):
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(SystemExit) as ended:
            call_command("reconcile", str(path), "--as-of", "2026-11-01", *extra,
                         stdout=out, stderr=err)  # fmt: skip
            raise SystemExit(0)
        return ended.value.code, out.getvalue(), err.getvalue()

    def test_agreement_is_an_empty_list_and_exit_code_0(self, city, groups, tmp_path):
        south, north = groups
        path = tmp_path / "营销.csv"
        path.write_text(
            "户号,综合倍率,状态\n"
            + "".join(
                f"{_base(g)},{m},在用\n" for g, m in zip([*south, north], [3, 5, 1, 2], strict=True)
            ),
            encoding="gb18030",
        )

        code, out, _err = self._run(path, "--format", "json")

        assert code == 0
        assert json.loads(out)["differences"] == []

    def test_differences_are_json_with_exit_code_1(self, city, groups, tmp_path):
        south, north = groups
        path = tmp_path / "营销.xlsx"
        path.write_bytes(_xlsx([[_base(g), "", 3, "在用"] for g in [*south, north]]))

        code, out, _err = self._run(path, "--format", "json")

        assert code == 1
        found = json.loads(out)["differences"]
        assert [(item["account_number"], item["kind"]) for item in found] == sorted(
            [(_base(south[1]), "multiplier"), (_base(south[2]), "multiplier"),
             (_base(north), "multiplier")]
        )  # fmt: skip
        assert found[0]["marketing"]["multiplier"] == 3

    def test_a_bad_file_exits_2_with_the_problems(self, city, tmp_path):
        path = tmp_path / "营销.xlsx"
        path.write_bytes(b"not a workbook at all")

        code, out, err = self._run(path, "--format", "json")

        assert code == 2
        assert json.loads(out)["errors"]
        assert "未核对" in err


class TestThePage:
    def _post(self, client, data, **extra):
        return client.post(
            reverse("reconciliation:reconcile"),
            {"as_of": "2026-11-01", "file": SimpleUploadedFile("营销.xlsx", data), **extra},
        )

    def test_shows_only_the_users_units_differences(self, client, city, groups):
        south, north = groups
        billing = factories.user(unit=city.south, role=Role.BILLING)
        client.force_login(billing)

        response = self._post(client, _xlsx([[_base(south[0]), "", 4, "在用"],
                                            [_base(north), "", 9, "在用"]]))  # fmt: skip

        shown = [item.account_number for item in response.context["report"].differences]
        assert shown == sorted([_base(south[0]), _base(south[1]), _base(south[2])])
        assert _base(north) not in response.content.decode()

    def test_exports_the_differences_as_xlsx(self, client, city, groups):
        south, _north = groups
        client.force_login(city.south_admin)

        response = self._post(
            client, _xlsx([[_base(g), "", m, "在用"] for g, m in zip(south, [3, 5, 2], strict=True)]),
            export="xlsx",
        )  # fmt: skip

        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[1][:2] == (_base(south[2]), "综合倍率不一致")
        assert rows[1][5:9] == (2, "在用", 1, 1)

    def test_a_bad_file_is_shown_beside_the_form(self, client, city):
        client.force_login(city.south_admin)

        response = self._post(client, _xlsx([["123", "", 3, "在用"]]))

        assert response.status_code == 400
        assert "户号“123”应为 10 位数字。" in response.content.decode()

    def test_a_clerk_is_refused(self, client, city):
        client.force_login(city.south_clerk)

        response = self._post(client, _xlsx([]))

        assert response.status_code == 403
