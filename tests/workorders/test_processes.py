"""Each process end to end through the services, each step by its own role."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from refmeter.audit.models import AuditEntry
from refmeter.common.spreadsheets import open_sheets
from refmeter.organisations.models import Role
from refmeter.registry.models import FinalBillRequest, Group, PointKind, PointStatus
from refmeter.registry.selectors import group_multiplier_on
from refmeter.workorders import services
from refmeter.workorders.models import (
    REQUIRED_DOCUMENTS,
    EventKind,
    LineAction,
    OrderKind,
    Step,
    WorkOrder,
)
from tests import factories

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spreadsheets"
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff(city):
    return {role: factories.user(unit=city.south, role=role, username=f"s_{role}") for role in Role}


def application_rows(name: str = "application_list_wps_style.xlsx") -> list[list[object]]:
    return open_sheets((FIXTURES / name).read_bytes())[0].rows


def upload_all_documents(order, actor):
    for kind in REQUIRED_DOCUMENTS[order.kind]:
        services.document_upload(
            actor=actor,
            order_id=order.pk,
            kind=kind,
            upload=SimpleUploadedFile(f"{kind}.pdf", b"%PDF-1.4 scanned", "application/pdf"),
            now=NOW,
        )


def run_to_installation(order, staff, *, connection_date=dt.date(2026, 9, 30)):
    services.order_step_complete(actor=staff[Role.CLERK], order_id=order.pk, now=NOW)
    services.order_survey_resolve(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
    services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
    run_contract_and_connection(order, staff, connection_date=connection_date)


class TestNewInstall:
    def test_from_acceptance_to_archive_the_group_appears_with_its_points(
        self, city, staff, nearby_index
    ):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
        order = services.order_new_install_start(
            actor=staff[Role.CLERK],
            customer_id=customer.pk,
            device_type_id=device.pk,
            application=services.Application(handler_name="李四", sms_number="13900000000"),
            now=NOW,
        )
        summary = services.order_lines_import(
            actor=staff[Role.CLERK], order_id=order.pk, rows=application_rows(), now=NOW
        )
        run_to_installation(order, staff)
        services.installation_dates_set(
            actor=staff[Role.FIELD_STAFF],
            order_id=order.pk,
            all_lines=dt.date(2026, 10, 8),
            now=NOW,
        )
        services.order_step_complete(actor=staff[Role.FIELD_STAFF], order_id=order.pk, now=NOW)
        order.refresh_from_db()
        upload_all_documents(order, staff[Role.CUSTOMER_MANAGER])

        done = services.order_step_complete(
            actor=staff[Role.CUSTOMER_MANAGER], order_id=order.pk, now=NOW
        )

        assert (summary.adding, summary.cancelling) == (3, 0)
        assert done.step == Step.DONE
        group = Group.objects.get(pk=done.group_id)
        assert group.meter_asset_number == "3310009998887"
        points = list(group.points.order_by("account_number"))
        assert [(p.account_number, p.kind, p.name) for p in points] == [
            ("1702000001", PointKind.BASE, "城南新村56幢电信车库"),
            ("1702000002", PointKind.SUB, "南江枫林28幢2单元"),
            ("1702000003", PointKind.SUB, "南苑小区3幢机房"),
        ]
        assert [p.access_point.number for p in points] == [
            city.south_place.number,
            city.south_other_place.number,
            city.south_place.number,
        ]
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 10, 8)) == 3
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 10, 7)) == 0
        assert set(
            AuditEntry.objects.filter(subject_type="point").values_list("work_order", flat=True)
        ) == {order.number}
        # Connected on 30 September: 7 working days after the National Day holiday,
        # counting the make-up Saturday of 10 October.
        assert done.archive_due_date == dt.date(2026, 10, 15)
        steps = list(done.events.filter(kind=EventKind.COMPLETED).values_list("step", "actor_name"))
        assert steps == [
            (Step.ACCEPTANCE, "测试受理员"),
            (Step.SURVEY, "测试勘察员"),
            (Step.CONTRACT, "测试客户经理"),
            (Step.CONNECTION, "测试装接/用电检查人员"),
            (Step.INSTALLATION, "测试装接/用电检查人员"),
            (Step.ARCHIVE, "测试客户经理"),
        ]

    def test_connection_is_refused_until_the_contract_is_signed(self, city, staff, nearby_index):
        order = self.accepted_and_surveyed(city, staff)
        services.contract_save(
            actor=staff[Role.CUSTOMER_MANAGER],
            order_id=order.pk,
            number="HT-1",
            start_date=dt.date(2026, 9, 1),
            end_date=dt.date(2031, 8, 31),
            approved_by="王主任",
            approved_date=dt.date(2026, 9, 20),
            signed_date=None,
            now=NOW,
        )

        with pytest.raises(services.UnableToProgressOrder) as refusal:
            services.order_step_complete(
                actor=staff[Role.CUSTOMER_MANAGER], order_id=order.pk, now=NOW
            )

        assert refusal.value.problems == ["合同尚未签订，不能进入接电环节。"]
        order.refresh_from_db()
        assert order.step == Step.CONTRACT

    def test_a_step_by_the_wrong_role_is_refused(self, city, staff, nearby_index):
        order = self.accepted_and_surveyed(city, staff)

        with pytest.raises(services.StepNotAllowed) as refusal:
            services.order_step_complete(actor=staff[Role.CLERK], order_id=order.pk, now=NOW)

        assert str(refusal.value) == "“合同”环节应由客户经理办理，您的岗位角色无权操作。"
        order.refresh_from_db()
        assert order.step == Step.CONTRACT

    def test_another_units_user_cannot_touch_the_order(self, city, staff, nearby_index):
        order = self.accepted_and_surveyed(city, staff)
        north_manager = factories.user(unit=city.north, role=Role.CUSTOMER_MANAGER)

        with pytest.raises(services.OrderNotVisible):
            services.order_step_complete(actor=north_manager, order_id=order.pk, now=NOW)

        order.refresh_from_db()
        assert order.step == Step.CONTRACT

    def test_a_step_can_send_the_order_back_with_a_reason(self, city, staff, nearby_index):
        order = self.accepted_and_surveyed(city, staff)

        services.order_step_return(
            actor=staff[Role.CUSTOMER_MANAGER],
            order_id=order.pk,
            reason="接入点有误，请复核",
            now=NOW,
        )

        order.refresh_from_db()
        assert order.step == Step.SURVEY
        event = order.events.get(kind=EventKind.RETURNED)
        assert (event.step, event.note) == (Step.CONTRACT, "接入点有误，请复核")

    def test_unresolvable_points_must_be_placed_by_hand_before_the_survey_ends(
        self, city, staff, nearby_index
    ):
        order = self.accepted(city, staff)
        from refmeter.registry.models import NearbyNumber

        NearbyNumber.objects.filter(number="1701636731").delete()
        result = services.order_survey_resolve(
            actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW
        )

        with pytest.raises(services.UnableToProgressOrder) as refusal:
            services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
        line = order.lines.get(name="南苑小区3幢机房")
        services.order_line_place_set(
            actor=staff[Role.SURVEYOR],
            order_id=order.pk,
            line_id=line.pk,
            access_point_number=city.south_other_place.number,
            now=NOW,
        )
        services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)

        assert result.unresolved == ["南苑小区3幢机房"]
        assert refusal.value.problems == ["以下点位还没有接入点和台区，请人工确认：南苑小区3幢机房"]
        line.refresh_from_db()
        assert (line.area, line.place_source) == (city.south_other_area, "manual")

    @staticmethod
    def accepted(city, staff):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
        order = services.order_new_install_start(
            actor=staff[Role.CLERK],
            customer_id=customer.pk,
            device_type_id=device.pk,
            application=services.Application(),
            now=NOW,
        )
        services.order_lines_import(
            actor=staff[Role.CLERK], order_id=order.pk, rows=application_rows(), now=NOW
        )
        services.order_step_complete(actor=staff[Role.CLERK], order_id=order.pk, now=NOW)
        return order

    @classmethod
    def accepted_and_surveyed(cls, city, staff):
        order = cls.accepted(city, staff)
        services.order_survey_resolve(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
        services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
        return order


def change_list(*rows) -> list[list[object]]:
    return [
        ["接电申请清单"],
        ["设备类型：", "楼道EPON设备", "", "虚拟户号：", "1702000001"],
        ["序号", "点位名称", "接电位置", "就近户号/局号", "备注"],
        *[[index, *row] for index, row in enumerate(rows, start=1)],
    ]


class TestChange:
    @pytest.fixture
    def group(self, city):
        device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
        return factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            sub_accounts=3,
            device=device,
        )

    def test_points_are_added_cancelled_and_moved_on_the_dates_entered(
        self, city, staff, nearby_index, group
    ):
        leaving = group.points.get(name="虚拟子户1")
        moving = group.points.get(name="虚拟子户2")
        order = services.order_group_start(
            actor=staff[Role.CLERK],
            group_id=group.pk,
            kind=OrderKind.CHANGE,
            application=services.Application(),
            now=NOW,
        )
        services.order_lines_import(
            actor=staff[Role.CLERK],
            order_id=order.pk,
            rows=change_list(
                ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
                ["虚拟子户1", "越城区城南街道1幢", leaving.account_number, "取消"],
            ),
            now=NOW,
        )
        services.order_change_line_add(
            actor=staff[Role.CLERK],
            order_id=order.pk,
            account_number=moving.account_number,
            access_point_number=city.south_other_place.number,
            now=NOW,
        )
        run_to_installation(order, staff, connection_date=dt.date(2026, 11, 2))
        dates = {
            line.pk: dt.date(2026, 11, 20)
            if line.action == LineAction.ADD
            else dt.date(2026, 11, 10)
            for line in order.lines.all()
        }
        services.installation_dates_set(
            actor=staff[Role.FIELD_STAFF], order_id=order.pk, by_line=dates, now=NOW
        )

        services.order_step_complete(actor=staff[Role.FIELD_STAFF], order_id=order.pk, now=NOW)

        leaving.refresh_from_db()
        moving.refresh_from_db()
        added = group.points.get(name="北海花苑9幢机柜")
        assert (leaving.status, leaving.active_to_date) == (
            PointStatus.CANCELLED,
            dt.date(2026, 11, 10),
        )
        assert moving.area == city.south_other_area
        assert (added.account_number, added.active_from_date) == (
            "1702000005",
            dt.date(2026, 11, 20),
        )
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 11, 9)) == 4
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 11, 10)) == 3
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 11, 20)) == 4
        order.refresh_from_db()
        assert order.step == Step.ARCHIVE

    def test_a_list_with_problems_is_refused_whole_with_every_problem(
        self, city, staff, nearby_index, group, settings
    ):
        settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 4
        order = services.order_group_start(
            actor=staff[Role.CLERK],
            group_id=group.pk,
            kind=OrderKind.CHANGE,
            application=services.Application(),
            now=NOW,
        )

        with pytest.raises(services.UnableToProgressOrder) as refusal:
            services.order_lines_import(
                actor=staff[Role.CLERK],
                order_id=order.pk,
                rows=change_list(
                    ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
                    ["北海花苑9幢机柜", "9幢计量箱", "1701636732", "新增"],
                    ["虚拟子户0", "越城区城南街道0幢", "1701636729", "新增"],
                    ["东湖花园1幢", "1幢", "1709999999", "新增"],
                    ["不存在的点位", "某处", "1701636729", "取消"],
                    ["南苑小区", "", "1701636729", "新增"],
                ),
                now=NOW,
            )

        assert refusal.value.problems == [
            "第 9 行 C 列（接电位置）：接电位置不能为空。",
            "第 5 行 B 列（点位名称）：与第 4 行是同一个点位（名称和接电位置相同）。",
            "第 6 行 B 列（点位名称）：该点位已在群组中（户号 1702000002）。",
            "第 7 行 D 列（就近户号/局号）：就近户号/局号 1709999999 在营销系统索引中不存在。",
            "第 8 行 B 列（点位名称）：要取消的点位“不存在的点位”不在本群组的在用虚拟子户中。",
            "办理后群组将有 6 个在用虚拟子户，超过上限 4 个；超出部分请申请新的参考表（新群组）。",
        ]
        assert order.lines.count() == 0

    def test_a_change_is_started_from_the_group_never_from_a_sub_account(self, city, staff, group):
        sub = group.points.filter(kind=PointKind.SUB).first()

        with pytest.raises(services.OrderNotVisible):
            services.order_group_start(
                actor=staff[Role.CLERK],
                group_id=sub.pk + 1000,
                kind=OrderKind.CHANGE,
                application=services.Application(),
                now=NOW,
            )

        assert WorkOrder.objects.count() == 0


class TestClosure:
    def test_every_point_closes_on_the_closure_date_and_a_final_bill_is_requested(
        self, city, staff
    ):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=4
        )
        order = services.order_group_start(
            actor=staff[Role.CLERK],
            group_id=group.pk,
            kind=OrderKind.CLOSURE,
            application=services.Application(note="客户撤场"),
            now=NOW,
        )
        services.order_step_complete(actor=staff[Role.CLERK], order_id=order.pk, now=NOW)
        services.closure_record(
            actor=staff[Role.FIELD_STAFF],
            order_id=order.pk,
            closure_date=dt.date(2026, 11, 16),
            now=NOW,
        )

        services.order_step_complete(actor=staff[Role.FIELD_STAFF], order_id=order.pk, now=NOW)

        group.refresh_from_db()
        assert (group.status, group.closed_date) == ("closed", dt.date(2026, 11, 16))
        assert set(group.points.values_list("status", "active_to_date")) == {
            (PointStatus.CANCELLED, dt.date(2026, 11, 16))
        }
        request = FinalBillRequest.objects.get(group=group)
        assert (request.closure_date, request.work_order) == (dt.date(2026, 11, 16), order.number)
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 11, 15)) == 5
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 11, 16)) == 0
        order.refresh_from_db()
        upload_all_documents(order, staff[Role.CUSTOMER_MANAGER])
        assert (
            services.order_step_complete(
                actor=staff[Role.CUSTOMER_MANAGER], order_id=order.pk, now=NOW
            ).step
            == Step.DONE
        )


class TestInstallationDatesFromASheet:
    def test_the_confirmation_list_filled_in_on_site_gives_each_point_its_date(
        self, city, staff, nearby_index
    ):
        from refmeter.spreadsheets.documents import list_xlsx
        from refmeter.workorders.documents import confirmation_list

        order = TestNewInstall.accepted_and_surveyed(city, staff)
        run_contract_and_connection(order, staff)
        sheet = open_sheets(list_xlsx(confirmation_list(order)))[0].rows
        header = next(index for index, row in enumerate(sheet) if row and row[0] == "序号")
        dates = ["2026-10-08", "2026/10/9", "2026年10月10日"]
        for offset, text in enumerate(dates, start=1):
            sheet[header + offset][8] = text

        count = services.installation_dates_import(
            actor=staff[Role.FIELD_STAFF], order_id=order.pk, rows=sheet, now=NOW
        )

        assert count == 3
        assert list(
            order.lines.order_by("line_number").values_list("installation_date", flat=True)
        ) == [
            dt.date(2026, 10, 8),
            dt.date(2026, 10, 9),
            dt.date(2026, 10, 10),
        ]

    def test_a_bad_date_or_an_unknown_account_is_refused_and_nothing_is_set(
        self, city, staff, nearby_index
    ):
        order = TestNewInstall.accepted_and_surveyed(city, staff)
        run_contract_and_connection(order, staff)
        rows = [
            ["户号", "安装日期"],
            ["1702000001", "十月八日"],
            ["1702999999", "2026-10-08"],
        ]

        with pytest.raises(services.UnableToProgressOrder) as refusal:
            services.installation_dates_import(
                actor=staff[Role.FIELD_STAFF], order_id=order.pk, rows=rows, now=NOW
            )

        assert refusal.value.problems == [
            "第 2 行：“十月八日”不是日期（应为 2026-10-08 这样的格式）。",
            "第 3 行：户号 1702999999 不在本工单中。",
        ]
        assert set(order.lines.values_list("installation_date", flat=True)) == {None}


def run_contract_and_connection(order, staff, *, connection_date=dt.date(2026, 9, 30)):
    services.contract_save(
        actor=staff[Role.CUSTOMER_MANAGER],
        order_id=order.pk,
        number="HT-2026-0001",
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2031, 8, 31),
        approved_by="王主任",
        approved_date=dt.date(2026, 9, 20),
        signed_date=dt.date(2026, 9, 25),
        now=NOW,
    )
    services.order_step_complete(actor=staff[Role.CUSTOMER_MANAGER], order_id=order.pk, now=NOW)
    services.connection_record(
        actor=staff[Role.FIELD_STAFF],
        order_id=order.pk,
        connection_date=connection_date,
        meter_asset_number="3310009998887",
        now=NOW,
    )
    services.order_step_complete(actor=staff[Role.FIELD_STAFF], order_id=order.pk, now=NOW)
