from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from refmeter.audit.models import AuditEntry
from refmeter.common.periods import Period
from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.registry.models import Point, PointKind, PointStatus
from refmeter.registry.selectors import (
    MultiplierSpan,
    RecordNotVisible,
    group_multiplier_history,
    group_multiplier_on,
    group_point_days,
)
from refmeter.registry.services import (
    PointInput,
    UnableToActivateSubAccount,
    UnableToAddSubAccounts,
    UnableToCancelSubAccount,
    UnableToCreateGroup,
    UnableToUpdatePoint,
    account_numbers_issue,
    point_update,
    sub_account_activate,
    sub_account_cancel,
    sub_accounts_add,
)
from tests import factories
from tests.factories import NOW


def sub(index: int, place: str = "33503000009083788", active_from=dt.date(2020, 1, 1)):
    return PointInput(
        name=f"子户{index}",
        device_address=f"城南{index}幢",
        access_point_number=place,
        active_from_date=active_from,
    )


class TestAccountNumbers:
    def test_numbers_carry_the_unit_prefix_and_rise(self, city):
        with transaction.atomic():
            numbers = account_numbers_issue(unit=city.south, count=3)

        assert numbers == ["1702000001", "1702000002", "1702000003"]

    def test_numbers_are_never_reused_after_a_cancellation(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        (point,) = sub_accounts_add(
            actor=city.south_admin, group_id=group.pk, points=[sub(1)], now=NOW
        )
        sub_account_cancel(
            actor=city.south_admin, point_id=point.pk, active_to_date=dt.date(2021, 1, 1), now=NOW
        )

        (next_point,) = sub_accounts_add(
            actor=city.south_admin, group_id=group.pk, points=[sub(2)], now=NOW
        )

        assert point.account_number == "1702000002"
        assert next_point.account_number == "1702000003"

    def test_numbers_already_taken_by_loaded_accounts_are_skipped(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[
                PointInput(
                    name="存量户",
                    device_address="城南",
                    account_number="1702000002",
                    access_point_number=city.south_place.number,
                    active_from_date=dt.date(2020, 1, 1),
                )
            ],
            now=NOW,
        )

        (point,) = sub_accounts_add(
            actor=city.south_admin, group_id=group.pk, points=[sub(1)], now=NOW
        )

        assert point.account_number == "1702000003"


class TestGroupCreation:
    def test_group_has_one_active_base_account_and_an_audit_trail(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)

        base = Point.objects.get(group=group)
        assert base.kind == PointKind.BASE
        assert base.status == PointStatus.ACTIVE
        assert base.area == city.south_area
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2020, 1, 1)) == 1
        actions = list(AuditEntry.objects.filter(work_order="").values_list("action", flat=True))
        assert "group.create" in actions and "point.create" in actions

    def test_a_second_base_account_in_a_group_is_refused_by_the_database(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)

        with pytest.raises(IntegrityError), transaction.atomic():
            Point.objects.create(
                group=group,
                kind=PointKind.BASE,
                account_number="1702999999",
                name="x",
                device_address="x",
            )

    def test_a_meter_already_in_a_group_is_refused(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        before = Point.objects.count()

        with pytest.raises(UnableToCreateGroup) as refusal:
            from refmeter.registry.services import group_create

            group_create(
                actor=city.south_admin,
                unit=city.south,
                customer=group.customer,
                device_type=group.device_type,
                meter_asset_number=group.meter_asset_number,
                meter_install_date=dt.date(2021, 1, 1),
                created_date=dt.date(2021, 1, 1),
                base=sub(0),
                now=NOW,
            )

        assert str(refusal.value) == f"参考表 {group.meter_asset_number} 已属于另一个群组。"
        assert Point.objects.count() == before


class TestSubAccountLimit:
    @pytest.fixture(autouse=True)
    def limit_of_100(self, settings):
        settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 100

    def test_the_hundredth_active_sub_account_is_accepted(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=99
        )

        sub_accounts_add(actor=city.south_admin, group_id=group.pk, points=[sub(100)], now=NOW)

        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2020, 6, 1)) == 101

    def test_the_hundred_and_first_active_sub_account_is_refused_and_nothing_changes(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=100
        )
        points_before = Point.objects.count()
        audit_before = AuditEntry.objects.count()

        with pytest.raises(UnableToAddSubAccounts) as refusal:
            sub_accounts_add(
                actor=city.south_admin,
                group_id=group.pk,
                points=[sub(101, active_from=dt.date(2021, 3, 1))],
                now=NOW,
            )

        assert refusal.value.problems == [
            "群组在 2021-03-01 将有 101 个在用虚拟子户，超过上限 100 个；"
            "超出部分请申请新的参考表（新群组）。"
        ]
        assert Point.objects.count() == points_before
        assert AuditEntry.objects.count() == audit_before

    def test_a_cancelled_sub_account_frees_its_place_from_its_end_date(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=100
        )
        leaving = Point.objects.filter(group=group, kind=PointKind.SUB).first()
        sub_account_cancel(
            actor=city.south_admin,
            point_id=leaving.pk,
            active_to_date=dt.date(2022, 1, 1),
            now=NOW,
        )

        with pytest.raises(UnableToAddSubAccounts):
            sub_accounts_add(
                actor=city.south_admin,
                group_id=group.pk,
                points=[sub(1, active_from=dt.date(2021, 12, 31))],
                now=NOW,
            )
        sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[sub(2, active_from=dt.date(2022, 1, 1))],
            now=NOW,
        )

        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2022, 1, 1)) == 101

    def test_activation_beyond_the_limit_is_refused(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=100
        )
        (pending,) = sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[
                PointInput(
                    name="待接电",
                    device_address="城南",
                    access_point_number=city.south_place.number,
                )
            ],
            now=NOW,
        )

        with pytest.raises(UnableToActivateSubAccount) as refusal:
            sub_account_activate(
                actor=city.south_admin,
                point_id=pending.pk,
                active_from_date=dt.date(2023, 5, 1),
                now=NOW,
            )

        assert "超过上限 100 个" in str(refusal.value)
        pending.refresh_from_db()
        assert pending.status == PointStatus.PENDING
        assert pending.active_from_date is None


class TestBadSubAccounts:
    def test_a_duplicate_account_number_is_refused_and_nothing_changes(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        taken = Point.objects.get(group=group).account_number
        before = Point.objects.count()

        with pytest.raises(UnableToAddSubAccounts) as refusal:
            sub_accounts_add(
                actor=city.south_admin,
                group_id=group.pk,
                points=[
                    PointInput(
                        name="重复户",
                        device_address="城南",
                        account_number=taken,
                        access_point_number=city.south_place.number,
                    )
                ],
                now=NOW,
            )

        assert refusal.value.problems == [f"第 1 个用电点：户号 {taken} 已被使用，户号不能重复。"]
        assert Point.objects.count() == before

    def test_activation_without_an_access_point_is_refused(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        (pending,) = sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[PointInput(name="无接入点", device_address="城南")],
            now=NOW,
        )

        with pytest.raises(UnableToActivateSubAccount) as refusal:
            sub_account_activate(
                actor=city.south_admin,
                point_id=pending.pk,
                active_from_date=dt.date(2021, 1, 1),
                now=NOW,
            )

        assert refusal.value.problems == [
            f"户号 {pending.account_number} 还没有接入点和台区，不能接电。"
        ]
        pending.refresh_from_db()
        assert (pending.status, pending.active_from_date) == (PointStatus.PENDING, None)

    def test_adding_an_active_point_without_a_place_is_refused(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        before = Point.objects.count()

        with pytest.raises(UnableToAddSubAccounts) as refusal:
            sub_accounts_add(
                actor=city.south_admin,
                group_id=group.pk,
                points=[
                    PointInput(
                        name="无接入点", device_address="城南", active_from_date=dt.date(2021, 1, 1)
                    )
                ],
                now=NOW,
            )

        assert refusal.value.problems == [
            "第 1 个用电点：没有接入点和台区的用电点不能接电（启用）。"
        ]
        assert Point.objects.count() == before

    def test_the_database_refuses_an_active_point_without_a_place(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)

        with pytest.raises(IntegrityError), transaction.atomic():
            Point.objects.create(
                group=group,
                kind=PointKind.SUB,
                account_number="1702888888",
                name="x",
                device_address="x",
                status=PointStatus.ACTIVE,
                active_from_date=dt.date(2021, 1, 1),
            )

    def test_a_malformed_access_point_number_is_refused_with_every_problem(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        before = Point.objects.count()

        with pytest.raises(UnableToAddSubAccounts) as refusal:
            sub_accounts_add(
                actor=city.south_admin,
                group_id=group.pk,
                points=[
                    PointInput(
                        name="甲", device_address="城南", access_point_number="3350300000908"
                    ),
                    PointInput(
                        name="", device_address="城南", access_point_number="33503000009083788"
                    ),
                ],
                now=NOW,
            )

        assert refusal.value.problems == [
            "第 1 个用电点：接入点编号应为 17 位数字，“3350300000908”不是。",
            "第 2 个用电点：户名不能为空。",
        ]
        assert Point.objects.count() == before

    def test_full_width_digits_are_normal_input(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)

        (point,) = sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[
                PointInput(
                    name=" 全角 ",
                    device_address="城南",
                    access_point_number="３３５０３０００００９０８３７８８",
                    active_from_date=dt.date(2021, 1, 1),
                )
            ],
            now=NOW,
        )

        assert point.access_point == city.south_place
        assert point.name == "全角"

    def test_another_units_user_cannot_add_to_the_group(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        before = Point.objects.count()

        with pytest.raises(RecordNotVisible):
            sub_accounts_add(actor=city.north_admin, group_id=group.pk, points=[sub(1)], now=NOW)

        assert Point.objects.count() == before

    def test_the_base_account_cannot_be_cancelled_alone(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        base = Point.objects.get(group=group)

        with pytest.raises(UnableToCancelSubAccount) as refusal:
            sub_account_cancel(
                actor=city.south_admin,
                point_id=base.pk,
                active_to_date=dt.date(2022, 1, 1),
                now=NOW,
            )

        assert str(refusal.value) == "基准户不能单独取消；请通过销户流程关闭整个群组。"
        base.refresh_from_db()
        assert base.status == PointStatus.ACTIVE


class TestPointUpdate:
    def test_an_edit_changes_the_point_and_records_before_and_after(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.get(group=group, kind=PointKind.SUB)

        point_update(
            actor=city.south_clerk,
            point_id=point.pk,
            now=NOW,
            reason="客户来函更正",
            name="城南新村56幢电信车库",
            access_point_number=city.south_other_place.number,
        )

        point.refresh_from_db()
        assert point.name == "城南新村56幢电信车库"
        assert point.access_point == city.south_other_place
        assert point.area == city.south_other_area
        entry = AuditEntry.objects.filter(action="point.update").get()
        assert entry.actor == city.south_clerk
        assert entry.reason == "客户来函更正"
        assert entry.before == {
            "access_point": "33503000009083788",
            "area": "3310000001",
            "name": "虚拟子户0",
        }
        assert entry.after == {
            "access_point": "33503000009083799",
            "area": "3310000002",
            "name": "城南新村56幢电信车库",
        }
        assert (entry.parent_type, entry.parent_id) == ("group", group.pk)

    def test_an_access_point_of_another_area_is_refused(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.get(group=group, kind=PointKind.SUB)

        with pytest.raises(UnableToUpdatePoint) as refusal:
            point_update(
                actor=city.south_clerk,
                point_id=point.pk,
                now=NOW,
                reason="更正",
                area_number=city.south_area.number,
                access_point_number=city.south_other_place.number,
            )

        assert refusal.value.problems == [
            "接入点 33503000009083799 属于台区 3310000002，不属于台区 3310000001。"
        ]
        point.refresh_from_db()
        assert point.access_point == city.south_place

    def test_a_user_of_another_unit_can_neither_see_nor_edit(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.get(group=group, kind=PointKind.SUB)

        with pytest.raises(RecordNotVisible) as refusal:
            point_update(
                actor=city.north_clerk, point_id=point.pk, now=NOW, reason="越权", name="改名"
            )

        assert str(refusal.value) == "未找到该用电点，或它不属于您所在单位及下属单位。"
        point.refresh_from_db()
        assert point.name == "虚拟子户0"
        assert not AuditEntry.objects.filter(action="point.update").exists()

    def test_the_company_administrator_may_edit_points_of_units_below(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.get(group=group, kind=PointKind.SUB)

        point_update(actor=city.admin, point_id=point.pk, now=NOW, reason="核查", name="改名")

        point.refresh_from_db()
        assert point.name == "改名"

    def test_a_role_without_edit_rights_is_refused(self, city):
        billing = factories.user(unit=city.south, role=Role.BILLING)
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.get(group=group, kind=PointKind.SUB)

        with pytest.raises(ActionNotAllowed) as refusal:
            point_update(actor=billing, point_id=point.pk, now=NOW, reason="x", name="改名")

        assert str(refusal.value) == "您的岗位角色无权执行此操作。"
        point.refresh_from_db()
        assert point.name == "虚拟子户0"

    def test_an_edit_without_a_reason_is_refused(self, city):
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
        )
        point = Point.objects.get(group=group, kind=PointKind.SUB)

        with pytest.raises(UnableToUpdatePoint) as refusal:
            point_update(actor=city.south_clerk, point_id=point.pk, now=NOW, reason=" ", name="x")

        assert refusal.value.problems == ["请填写修改原因。"]


class TestMultiplierAndPointDays:
    def test_a_point_added_on_the_20th_counts_11_days_of_a_30_day_month(self, city):
        group = factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            sub_accounts=2,
            active_from=dt.date(2026, 1, 1),
        )
        sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[sub(9, active_from=dt.date(2026, 6, 20))],
            now=NOW,
        )

        point_days = group_point_days(group_id=group.pk, period=Period.month(2026, 6))

        assert point_days == 3 * 30 + 11

    def test_a_point_cancelled_mid_month_counts_up_to_its_end_date(self, city):
        group = factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            sub_accounts=1,
            active_from=dt.date(2026, 1, 1),
        )
        leaving = Point.objects.get(group=group, kind=PointKind.SUB)
        sub_account_cancel(
            actor=city.south_admin,
            point_id=leaving.pk,
            active_to_date=dt.date(2026, 4, 11),
            now=NOW,
        )

        assert group_point_days(group_id=group.pk, period=Period.month(2026, 4)) == 30 + 10
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 4, 10)) == 2
        assert group_multiplier_on(group_id=group.pk, on_date=dt.date(2026, 4, 11)) == 1

    def test_the_multiplier_history_has_one_span_per_change(self, city):
        group = factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            sub_accounts=2,
            active_from=dt.date(2026, 1, 1),
        )
        sub_accounts_add(
            actor=city.south_admin,
            group_id=group.pk,
            points=[sub(9, active_from=dt.date(2026, 3, 5))],
            now=NOW,
        )
        leaving = Point.objects.filter(group=group, kind=PointKind.SUB).first()
        sub_account_cancel(
            actor=city.south_admin,
            point_id=leaving.pk,
            active_to_date=dt.date(2026, 5, 1),
            now=NOW,
        )

        history = group_multiplier_history(group_id=group.pk)

        assert history == [
            MultiplierSpan(dt.date(2026, 1, 1), dt.date(2026, 3, 5), 3),
            MultiplierSpan(dt.date(2026, 3, 5), dt.date(2026, 5, 1), 4),
            MultiplierSpan(dt.date(2026, 5, 1), None, 3),
        ]
