"""Concurrent step actions on a work order are detected: every action raises the order's
version, and an action based on an older version is refused with what was done meanwhile."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from refmeter.organisations.models import Role
from refmeter.workorders import services
from refmeter.workorders.models import Contract, Step, WorkOrder, WorkOrderEvent
from tests import factories
from tests.workorders.test_processes import NOW, application_rows

LATER = NOW + dt.timedelta(minutes=5)


@pytest.fixture
def manager(city):
    return factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER, username="manager")


@pytest.fixture
def order(city, nearby_index):
    """A new install at the contract step (version 5: import, complete, survey, complete)."""
    admin = city.south_admin
    customer = factories.customer(actor=admin, unit=city.south, name="中国电信股份有限公司")
    device = factories.device_type(actor=admin, name="楼道EPON设备")
    created = services.order_new_install_start(
        actor=admin,
        customer_id=customer.pk,
        device_type_id=device.pk,
        application=services.Application(),
        now=NOW,
    )
    services.order_lines_import(actor=admin, order_id=created.pk, rows=application_rows(), now=NOW)
    services.order_step_complete(actor=admin, order_id=created.pk, now=NOW)
    services.order_survey_resolve(actor=admin, order_id=created.pk, now=NOW)
    services.order_step_complete(actor=admin, order_id=created.pk, now=NOW)
    return WorkOrder.objects.get(pk=created.pk)


def save_contract(order, actor, *, number="HT-2026-0001", expected_version=None, now=NOW):
    return services.contract_save(
        actor=actor, order_id=order.pk, number=number, start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2031, 8, 31), approved_by="王主任", approved_date=dt.date(2026, 9, 20),
        signed_date=None, now=now, expected_version=expected_version,
    )  # fmt: skip


def to_installation(order, city):
    admin = city.south_admin
    save_contract(order, admin)
    Contract.objects.filter(order=order).update(signed_date=dt.date(2026, 9, 25))
    services.order_step_complete(actor=admin, order_id=order.pk, now=NOW)
    services.connection_record(
        actor=admin, order_id=order.pk, connection_date=dt.date(2026, 9, 30),
        meter_asset_number="3310009998887", now=NOW,
    )  # fmt: skip
    services.order_step_complete(actor=admin, order_id=order.pk, now=NOW)
    return WorkOrder.objects.get(pk=order.pk)


class TestOrderVersions:
    def test_every_step_action_raises_the_version_by_one(self, order, manager):
        assert order.version == 5

        save_contract(order, manager)

        order.refresh_from_db()
        assert order.version == 6
        assert list(
            WorkOrderEvent.objects.filter(order=order).values_list("version", flat=True)
        ) == [None, 2, 3, 4, 5, 6]

    def test_a_stale_contract_save_is_refused_naming_who_changed_which_fields_and_when(
        self, city, order, manager
    ):
        save_contract(order, manager)

        with pytest.raises(services.UnableToSaveStaleOrder) as refusal:
            save_contract(order, city.south_admin, number="HT-OTHER", expected_version=5, now=LATER)

        assert refusal.value.problems == [
            f"工单 {order.number} 在您读取之后已被他人修改（您读取的是第 5 版，现为第 6 版），"
            "本次操作未执行。",
            "2026-11-20 10:00 测试客户经理 记录（合同）：合同编号 “” → “HT-2026-0001”；"
            "合同生效日期 “” → “2026-09-01”；合同到期日期 “” → “2031-08-31”；"
            "审批人 “” → “王主任”；审批日期 “” → “2026-09-20”",
            "请核对以上修改后重新提交。",
        ]
        assert Contract.objects.get(order=order).number == "HT-2026-0001"
        order.refresh_from_db()
        assert order.version == 6
        assert WorkOrderEvent.objects.filter(order=order).count() == 6

    def test_a_stale_completion_is_refused_and_the_order_stays_at_its_step(
        self, city, order, manager
    ):
        save_contract(order, manager)
        Contract.objects.filter(order=order).update(signed_date=dt.date(2026, 9, 25))

        with pytest.raises(services.UnableToSaveStaleOrder):
            services.order_step_complete(
                actor=city.south_admin, order_id=order.pk, now=LATER, expected_version=5
            )

        order.refresh_from_db()
        assert (order.step, order.version) == (Step.CONTRACT, 6)

    def test_a_step_moved_on_meanwhile_is_listed_with_its_step(self, city, order, manager):
        save_contract(order, manager)
        Contract.objects.filter(order=order).update(signed_date=dt.date(2026, 9, 25))
        services.order_step_complete(actor=manager, order_id=order.pk, now=NOW)

        with pytest.raises(services.UnableToSaveStaleOrder) as refusal:
            save_contract(order, city.south_admin, number="HT-OTHER", expected_version=6)

        assert refusal.value.problems[1:3] == [
            "2026-11-20 10:00 测试客户经理 完成（合同）：当前环节 “合同” → “接电”",
            "请核对以上修改后重新提交。",
        ]

    def test_without_a_version_the_action_applies_to_the_current_order(self, order, manager):
        save_contract(order, manager)

        save_contract(order, manager, number="HT-2026-0002")

        assert Contract.objects.get(order=order).number == "HT-2026-0002"


class TestStepFormsOnThePage:
    def test_every_step_form_carries_the_orders_version(self, client, order, manager):
        client.force_login(manager)

        page = client.get(reverse("workorders:detail", args=[order.pk])).content.decode()

        # The contract form, the completion, the return and the withdrawal.
        assert page.count('<input type="hidden" name="version" value="5">') == 4

    def test_a_stale_contract_form_is_refused_with_the_input_kept_and_the_changes_listed(
        self, client, city, order, manager
    ):
        save_contract(order, city.south_admin)
        client.force_login(manager)

        response = client.post(
            reverse("workorders:contract", args=[order.pk]),
            {"number": "HT-MINE", "start_date": "2026-10-01", "end_date": "2031-09-30",
             "approved_by": "李科长", "approved_date": "", "signed_date": "", "version": 5},
        )  # fmt: skip

        page = response.content.decode()
        assert response.status_code == 409
        assert (
            f"工单 {order.number} 在您读取之后已被他人修改（您读取的是第 5 版，现为第 6 版）"
        ) in page
        assert (
            '<li data-testid="meanwhile">2026-11-20 10:00 测试系统管理员 记录（合同）：'
            "合同编号 “” → “HT-2026-0001”"
        ) in page
        assert 'value="HT-MINE"' in page
        assert 'value="李科长"' in page
        assert '<input type="hidden" name="version" value="6">' in page
        assert Contract.objects.get(order=order).number == "HT-2026-0001"
        order.refresh_from_db()
        assert order.version == 6

    def test_after_reading_the_changes_the_user_saves_again(self, client, city, order, manager):
        save_contract(order, city.south_admin)
        client.force_login(manager)
        form = {"number": "HT-MINE", "start_date": "2026-10-01", "end_date": "2031-09-30",
                "approved_by": "李科长", "approved_date": "", "signed_date": ""}  # fmt: skip
        client.post(reverse("workorders:contract", args=[order.pk]), {**form, "version": 5})

        response = client.post(
            reverse("workorders:contract", args=[order.pk]), {**form, "version": 6}
        )

        assert response.status_code == 302
        assert Contract.objects.get(order=order).number == "HT-MINE"

    def test_stale_installation_dates_are_refused_and_the_typed_dates_kept(
        self, client, city, order
    ):
        order = to_installation(order, city)
        lines = list(order.lines.order_by("line_number"))
        services.installation_dates_set(
            actor=city.south_admin, order_id=order.pk, all_lines=dt.date(2026, 10, 8), now=NOW
        )
        client.force_login(city.south_admin)

        response = client.post(
            reverse("workorders:installation", args=[order.pk]),
            {f"date_{lines[0].pk}": "2026-10-09", f"date_{lines[1].pk}": "2026-10-10",
             "version": order.version},
        )  # fmt: skip

        page = response.content.decode()
        assert response.status_code == 409
        assert "第 1 行安装日期 “” → “2026-10-08”" in page
        assert f'name="date_{lines[0].pk}" form="per-row-dates" value="2026-10-09"' in page
        assert f'name="date_{lines[1].pk}" form="per-row-dates" value="2026-10-10"' in page
        assert set(order.lines.values_list("installation_date", flat=True)) == {
            dt.date(2026, 10, 8)
        }

    def test_a_stale_completion_on_the_page_keeps_the_order_and_the_note(
        self, client, city, order, manager
    ):
        save_contract(order, city.south_admin)
        Contract.objects.filter(order=order).update(signed_date=dt.date(2026, 9, 25))
        client.force_login(manager)

        response = client.post(
            reverse("workorders:complete", args=[order.pk]), {"note": "合同已签", "version": 5}
        )

        assert response.status_code == 409
        assert 'value="合同已签"' in response.content.decode()
        order.refresh_from_db()
        assert (order.step, order.version) == (Step.CONTRACT, 6)
