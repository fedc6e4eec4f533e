from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from refmeter.audit.models import AuditEntry
from refmeter.billing.models import Tariff
from refmeter.masterdata.services import UnableToLoadMasterData, load_file
from refmeter.organisations.models import Role, SupplyUnit, UnitKind
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.registry.models import AccessPoint, Customer, DeviceType, TransformerArea
from tests import factories
from tests.masterdata.helpers import (
    AREA_HEADER,
    CUSTOMER_HEADER,
    DEVICE_HEADER,
    PLACE_HEADER,
    TARIFF_HEADER,
    UNIT_HEADER,
    csv_bytes,
    superuser,
    xlsx,
)

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
UNITS = xlsx(
    UNIT_HEADER,
    ("33501", "国网绍兴供电公司", "", "", ""),
    ("3350101", "城南供电服务区", "33501", "", "1702"),
    ("3350102", "城北供电服务区", "33501", "供电服务区", "1703"),
    title_rows=2,
)


def load(kind, data, *, actor, dry_run=False, file_name="file.xlsx"):
    return load_file(
        kind=kind, actor=actor, data=data, file_name=file_name, now=NOW, dry_run=dry_run
    )


class TestUnits:
    def test_a_tree_is_created_from_an_empty_database_with_title_rows_above_the_header(self, db):
        root = superuser()

        result = load("units", UNITS, actor=root, file_name="units.xlsx")

        units = {unit.code: unit for unit in SupplyUnit.objects.select_related("parent")}
        assert (result.as_dict()["created"], result.rows) == (3, 3)
        assert units["3350101"].path == "33501/3350101/"
        assert units["3350101"].parent == units["33501"]
        assert units["33501"].kind == UnitKind.COMPANY
        assert units["3350101"].kind == UnitKind.SERVICE_AREA
        assert units["3350102"].account_prefix == "1703"

    def test_each_creation_is_audited_with_the_files_name_and_sha256(self, db):
        root = superuser()

        load("units", UNITS, actor=root, file_name="units.xlsx")

        digest = hashlib.sha256(UNITS).hexdigest()
        entries = AuditEntry.objects.filter(action="unit.create")
        assert entries.count() == 3
        assert {entry.reason for entry in entries} == {
            f"供电单位导入：units.xlsx（SHA-256 {digest}）"
        }
        assert {entry.actor_id for entry in entries} == {root.pk}

    def test_loading_the_same_file_twice_changes_nothing(self, db):
        root = superuser()
        load("units", UNITS, actor=root)
        audited = AuditEntry.objects.count()

        result = load("units", UNITS, actor=root)

        assert (result.as_dict()["created"], result.as_dict()["changed"], result.unchanged) == (
            0, 0, 3,
        )  # fmt: skip
        assert AuditEntry.objects.count() == audited

    def test_a_dry_run_reports_what_would_change_and_writes_nothing(self, db):
        root = superuser()
        load("units", UNITS, actor=root)
        renamed = xlsx(UNIT_HEADER, ("3350101", "城南服务区", "33501", "", "1702"),
                       ("3350103", "城东供电服务区", "33501", "", ""))  # fmt: skip

        result = load("units", renamed, actor=root, dry_run=True)

        assert result.as_dict()["created"] == 1
        assert result.changed == ["3350101 城南供电服务区：name：城南供电服务区 → 城南服务区"]
        assert SupplyUnit.objects.get(code="3350101").name == "城南供电服务区"
        assert not SupplyUnit.objects.filter(code="3350103").exists()

    def test_every_problem_is_named_by_sheet_row_and_column_and_nothing_is_written(self, db):
        root = superuser()
        bad = xlsx(
            UNIT_HEADER,
            ("33501", "国网绍兴供电公司", "", "", ""),
            ("3350101", "城南", "99999", "", "17021"),
            ("33501", "重复", "", "", ""),
            sheet="单位",
        )

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("units", bad, actor=root)

        assert refused.value.problems == [
            "单位 第 3 行 E 列（户号前缀）：户号前缀应为 1 到 4 位数字。",
            "单位 第 4 行 A 列（编码）：单位编码 33501 重复。",
            "单位 第 3 行 C 列（上级编码）：上级单位 99999 不存在（既不在系统中，也不在本文件中），"
            "或上下级成环。",
        ]
        assert not SupplyUnit.objects.exists()

    def test_a_unit_administrator_adds_units_below_their_own_only(self, city):
        rows = xlsx(UNIT_HEADER, ("335010101", "城南一所", "3350101", "", ""),
                    ("335010201", "城北一所", "3350102", "", ""))  # fmt: skip

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("units", rows, actor=city.south_admin)

        assert refused.value.problems == [
            "Sheet1 第 3 行 C 列（上级编码）：单位 335010201 不在您的单位（33501）之下。"
        ]
        assert not SupplyUnit.objects.filter(code__in=["335010101", "335010201"]).exists()

    def test_only_administrators_may_load(self, city):
        with pytest.raises(ActionNotAllowed):
            load("units", UNITS, actor=city.south_clerk)


class TestCustomersAndDeviceTypes:
    def test_customers_are_created_in_their_unit_and_bad_credit_codes_refused(self, city):
        good = xlsx(
            CUSTOMER_HEADER,
            ("3350101", "中国电信绍兴分公司", "91330600MA288EBX69", "0575-88001234"),
        )
        bad = xlsx(CUSTOMER_HEADER, ("3350101", "中国联通", "91330600MA288EBX6X", ""))

        load("customers", good, actor=city.south_admin)
        with pytest.raises(UnableToLoadMasterData) as refused:
            load("customers", bad, actor=city.south_admin)

        customer = Customer.objects.get()
        assert (customer.unit, customer.registration_number, customer.created_date) == (
            city.south, "91330600MA288EBX69", dt.date(2026, 12, 1),
        )  # fmt: skip
        assert len(refused.value.problems) == 1
        assert refused.value.problems[0].startswith("Sheet1 第 2 行 C 列（统一社会信用代码）：")

    def test_customers_of_another_unit_are_refused(self, city):
        rows = xlsx(CUSTOMER_HEADER, ("3350102", "中国联通", "", ""))

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("customers", rows, actor=city.south_admin)

        assert refused.value.problems == [
            "Sheet1 第 2 行 A 列（单位编码）：供电单位编码 3350102 不存在或不属于您的单位。"
        ]

    def test_device_types_are_created_then_changed(self, city):
        first = xlsx(DEVICE_HEADER, ("楼道EPON设备", 400, ""), ("监控摄像头", "25.5", 24))
        second = xlsx(DEVICE_HEADER, ("楼道EPON设备", 400, 12), ("监控摄像头", "25.5", 24))

        load("device_types", first, actor=city.admin)
        result = load("device_types", second, actor=city.admin)

        epon = DeviceType.objects.get(name="楼道EPON设备")
        assert (epon.rated_watts, epon.daily_operating_hours) == (Decimal("400.0"), Decimal("12.0"))
        assert (len(result.changed), result.unchanged) == (1, 1)
        assert AuditEntry.objects.filter(action="device_type.update").get().before == {
            "daily_operating_hours": "24.0"
        }

    def test_a_device_type_over_24_hours_a_day_is_refused(self, city):
        rows = xlsx(DEVICE_HEADER, ("路灯", 100, 25))

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("device_types", rows, actor=city.admin)

        assert refused.value.problems == [
            "Sheet1 第 2 行 C 列（日运行小时）：日运行小时数应在 0 到 24 之间。"
        ]
        assert not DeviceType.objects.exists()


class TestTariffs:
    def test_a_later_price_of_a_code_ends_the_earlier_one(self, city):
        first = xlsx(
            TARIFF_HEADER, ("0201", "一般工商业", "单一", "0.6500", "", "", "", "", "2026-01-01")
        )
        both = xlsx(
            TARIFF_HEADER,
            ("0201", "一般工商业", "单一", "0.6500", "", "", "", "", "2026-01-01"),
            ("0201", "一般工商业", "单一", "0.6800", "", "", "", "", "2026-11-16"),
            ("0301", "一般工商业分时", "分时", "", "1.1", "0.9", "0.6", "0.3", "2026-01-01"),
        )

        load("tariffs", first, actor=city.admin)
        result = load("tariffs", both, actor=city.admin)

        assert list(
            Tariff.objects.values_list("code", "effective_from", "price", "valley_price")
        ) == [
            ("0201", dt.date(2026, 1, 1), Decimal("0.6500"), None),
            ("0201", dt.date(2026, 11, 16), Decimal("0.6800"), None),
            ("0301", dt.date(2026, 1, 1), None, Decimal("0.3000")),
        ]
        assert result.closed == ["电价代码 0201 自 2026-01-01 的电价执行至 2026-11-16"]
        assert (len(result.created), result.unchanged) == (2, 1)

    def test_a_time_of_use_tariff_needs_its_four_prices(self, city):
        rows = xlsx(
            TARIFF_HEADER, ("0301", "分时", "分时", "", "1.1", "", "0.6", "x", "2026-01-01")
        )

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("tariffs", rows, actor=city.admin)

        assert refused.value.problems == [
            "Sheet1 第 2 行 H 列（低谷电价）：“x”不是数字。",
            "Sheet1 第 2 行 F 列（高峰电价）：分时电价须填写尖峰、高峰、平段、低谷四个电价。",
        ]
        assert not Tariff.objects.exists()


class TestAreasAndAccessPoints:
    def test_areas_and_access_points_load_from_gb18030_csv(self, city):
        areas = csv_bytes(
            AREA_HEADER, ("3310000009", "南江枫林9#配", "3350101"), encoding="gb18030"
        )
        places = csv_bytes(
            PLACE_HEADER,
            ("33503000009000001", "南江枫林9#配1幢终端箱", "3310000009"),
            ("33503000009000002", "南江枫林9#配2幢终端箱", "3310000009"),
            encoding="gb18030",
        )

        load("areas", areas, actor=city.south_admin, file_name="areas.csv")
        result = load("access_points", places, actor=city.south_admin, file_name="places.csv")

        area = TransformerArea.objects.get(number="3310000009")
        assert (area.name, area.unit) == ("南江枫林9#配", city.south)
        assert sorted(AccessPoint.objects.filter(area=area).values_list("name", flat=True)) == [
            "南江枫林9#配1幢终端箱", "南江枫林9#配2幢终端箱",
        ]  # fmt: skip
        assert len(result.created) == 2
        assert AuditEntry.objects.filter(action="access_point.create", occurred_at=NOW).count() == 2

    def test_bad_numbers_and_areas_of_other_units_are_refused(self, city):
        places = xlsx(
            PLACE_HEADER,
            ("3350300000900000", "少一位", "3310000001"),
            ("33503000009000003", "城北台区", "3320000001"),
        )

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("access_points", places, actor=city.south_admin)

        assert len(refused.value.problems) == 2
        assert refused.value.problems[0].startswith("Sheet1 第 2 行 A 列（接入点编号）：")
        assert refused.value.problems[1] == (
            "Sheet1 第 3 行 C 列（台区编号）：台区 3320000001 不存在或不属于您的单位。"
        )
        assert AccessPoint.objects.count() == 3

    def test_renaming_an_access_point_is_a_change_and_the_rest_is_left_alone(self, city):
        places = xlsx(
            PLACE_HEADER,
            (city.south_place.number, "新名称", city.south_area.number),
            (
                city.south_other_place.number,
                city.south_other_place.name,
                city.south_other_area.number,
            ),
        )

        result = load("access_points", places, actor=city.south_admin)

        city.south_place.refresh_from_db()
        assert city.south_place.name == "新名称"
        assert (len(result.changed), result.unchanged, len(result.created)) == (1, 1, 0)

    def test_an_access_point_with_points_does_not_move_to_another_area(self, city):
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        places = xlsx(PLACE_HEADER, (city.south_place.number, "x", city.south_other_area.number))

        with pytest.raises(UnableToLoadMasterData) as refused:
            load("access_points", places, actor=city.south_admin)

        assert refused.value.problems == [
            f"Sheet1 第 2 行 C 列（台区编号）：接入点 {city.south_place.number} 已有用电点，"
            "不能改变所属台区（请通过变更工单迁移）。"
        ]


def test_a_header_missing_a_required_column_is_refused(city):
    with pytest.raises(UnableToLoadMasterData) as refused:
        load("areas", xlsx(("台区编号", "名称"), ("1", "x")), actor=city.admin)

    assert refused.value.problems == [
        "“Sheet1”不是台区表：找不到含有这些列的表头：台区编号、名称、单位编码。"
    ]


def test_a_clerk_is_refused(city):
    assert city.south_clerk.role == Role.CLERK
    with pytest.raises(ActionNotAllowed):
        load("areas", xlsx(AREA_HEADER, ("1", "x", "3350101")), actor=city.south_clerk)


class TestALargeFile:
    def test_over_a_thousand_rows_go_in_as_a_set_with_an_audit_entry_each(self, city):
        rows = [(f"3350301{index:010d}", f"终端箱{index}", city.south_area.number)
                for index in range(1200)]  # fmt: skip
        data = xlsx(PLACE_HEADER, *rows)

        result = load("access_points", data, actor=city.south_admin, file_name="big.xlsx")
        again = load("access_points", data, actor=city.south_admin, file_name="big.xlsx")

        places = dict(
            AccessPoint.objects.filter(number__startswith="3350301").values_list("number", "pk")
        )
        entries = AuditEntry.objects.filter(action="access_point.create", occurred_at=NOW)
        last = entries.get(subject_label="33503010000001199")
        assert (len(result.created), len(places), again.unchanged) == (1200, 1200, 1200)
        assert entries.count() == 1200
        assert last.subject_id == places["33503010000001199"]
        assert last.after == {"number": "33503010000001199", "name": "终端箱1199",
                              "area": city.south_area.number}  # fmt: skip
        assert (last.parent_id, last.actor_id) == (city.south_area.pk, city.south_admin.pk)
        assert last.reason == (
            f"接入点导入：big.xlsx（SHA-256 {hashlib.sha256(data).hexdigest()}）"
        )
