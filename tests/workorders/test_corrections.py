"""Correcting an order's application and withdrawing an order."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.organisations.models import Role
from refmeter.registry.models import AccountNumberCounter, Point, RetiredAccountNumber
from refmeter.registry.services import account_numbers_issue
from refmeter.workorders import corrections, services
from refmeter.workorders.models import EventKind, Step, WorkOrder
from tests import factories
from tests.workorders.test_processes import (
    NOW,
    application_rows,
    run_contract_and_connection,
)

LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture
def staff(city):
    return {role: factories.user(unit=city.south, role=role, username=f"s_{role}") for role in Role}


@pytest.fixture
def order(city, staff, nearby_index):
    customer = factories.customer(actor=city.south_admin, unit=city.south)
    device = factories.device_type(actor=city.south_admin, name="楼道EPON设备")
    started = services.order_new_install_start(
        actor=staff[Role.CLERK], customer_id=customer.pk, device_type_id=device.pk,
        application=services.Application(handler_name="李四", handler_phone="13900000000"),
        now=NOW,
    )  # fmt: skip
    services.order_lines_import(
        actor=staff[Role.CLERK], order_id=started.pk, rows=application_rows(), now=NOW
    )
    return started


def to_survey(order, staff):
    services.order_step_complete(actor=staff[Role.CLERK], order_id=order.pk, now=NOW)
    services.order_survey_resolve(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)


def corrected(**values):
    return services.Application(
        **{"handler_name": "李四", "handler_phone": "13900000000", **values}
    )


def snapshot(order):
    order = WorkOrder.objects.get(pk=order.pk)
    return (
        order.step, order.version, order.handler_name, order.handler_phone, order.withdrawn_at,
        order.events.count(), RetiredAccountNumber.objects.count(),
    )  # fmt: skip


class TestCorrectingTheApplication:
    def test_an_edit_before_the_survey_is_kept_with_before_and_after(self, city, staff, order):
        corrections.order_application_edit(
            actor=staff[Role.CLERK], order_id=order.pk, now=LATER, reason="客户来电更正",
            application=corrected(handler_name="王五", handler_phone="0575-88123456"),
        )  # fmt: skip

        order.refresh_from_db()
        event = order.events.get(kind=EventKind.EDITED)
        entry = AuditEntry.objects.get(action="workorder.application_edit")
        assert (order.handler_name, order.handler_phone) == ("王五", "0575-88123456")
        assert event.note == "客户来电更正"
        assert event.changes == [
            ["handler_name", "李四", "王五"],
            ["handler_phone", "13900000000", "0575-88123456"],
        ]
        assert (entry.subject_id, entry.work_order, entry.reason) == (
            order.pk,
            order.number,
            "客户来电更正",
        )
        assert entry.before == {"handler_name": "李四", "handler_phone": "13900000000"}
        assert entry.after == {"handler_name": "王五", "handler_phone": "0575-88123456"}

    def test_the_surveyor_may_correct_it_during_the_survey(self, city, staff, order):
        to_survey(order, staff)

        corrections.order_application_edit(
            actor=staff[Role.SURVEYOR], order_id=order.pk, now=LATER, reason="现场核实",
            application=corrected(sms_number="13705750001"),
        )  # fmt: skip

        order.refresh_from_db()
        assert order.sms_number == "13705750001"

    def test_after_the_survey_it_is_refused_and_nothing_changes(self, city, staff, order):
        to_survey(order, staff)
        services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
        before = snapshot(order)

        with pytest.raises(services.UnableToProgressOrder) as refused:
            corrections.order_application_edit(
                actor=staff[Role.CLERK], order_id=order.pk, now=LATER, reason="更正",
                application=corrected(handler_name="王五"),
            )  # fmt: skip

        assert refused.value.problems == [
            "工单当前在“合同”环节，申请信息的修改只能在以下环节办理：受理、勘察。"
        ]
        assert snapshot(order) == before
        assert not AuditEntry.objects.filter(action="workorder.application_edit").exists()

    def test_a_bad_phone_or_id_number_is_refused_beside_its_field(self, city, staff, order):
        before = snapshot(order)

        with pytest.raises(services.UnableToProgressOrder) as refused:
            corrections.order_application_edit(
                actor=staff[Role.CLERK], order_id=order.pk, now=LATER, reason="更正",
                application=corrected(handler_id_number="110105194912310021",
                                      handler_phone="12345"),
            )  # fmt: skip

        assert [(p.field, str(p)) for p in refused.value.problems] == [
            ("handler_id_number", "身份证号码的校验码不正确，请核对。"),
            (
                "handler_phone",
                "电话号码应为 11 位手机号码，或带区号的固定电话（例如 0575-88123456，可加分机号）。",
            ),
        ]
        assert snapshot(order) == before

    def test_on_the_page_the_edit_is_on_the_timeline(self, client, city, staff, order):
        client.force_login(staff[Role.CLERK])
        fields = dataclasses.asdict(corrected(handler_name="王五"))
        fields.pop("points_applied")

        client.post(
            reverse("workorders:application_edit", args=[order.pk]),
            {**fields, "reason": "客户来电更正"},
        )
        page = client.get(reverse("workorders:detail", args=[order.pk])).content.decode()

        assert "<li>经办人：李四 → 王五</li>" in page


class TestWithdrawing:
    def withdraw(self, actor, order, **values):
        return corrections.order_withdraw(
            actor=actor, order_id=order.pk, now=LATER,
            **{"reason": "客户取消申请", "confirmed": True, **values},
        )  # fmt: skip

    def test_at_acceptance_the_clerk_withdraws_it(self, city, staff, order):
        self.withdraw(staff[Role.CLERK], order)

        order.refresh_from_db()
        event = order.events.get(kind=EventKind.WITHDRAWN)
        assert (order.step, order.withdrawal_reason, order.withdrawn_at) == (
            Step.DONE,
            "客户取消申请",
            LATER,
        )
        assert (event.step, event.note, event.changes) == (
            Step.ACCEPTANCE,
            "客户取消申请",
            [["step", "acceptance", "done"]],
        )
        assert not RetiredAccountNumber.objects.exists()

    def test_at_the_survey_the_numbers_issued_are_retired_and_no_point_is_made(
        self,
        city,
        staff,
        order,
    ):
        to_survey(order, staff)
        issued = list(
            order.lines.exclude(account_number="").values_list("account_number", flat=True)
        )

        self.withdraw(staff[Role.SURVEYOR], order)

        retired = RetiredAccountNumber.objects.order_by("number")
        assert issued == ["1702000001", "1702000002", "1702000003"]
        assert [(r.number, r.work_order) for r in retired] == [
            (number, order.number) for number in issued
        ]
        assert not Point.objects.filter(account_number__in=issued).exists()
        assert order.events.get(kind=EventKind.WITHDRAWN).changes == [
            ["step", "survey", "done"],
            ["retired_account_numbers", "", "1702000001、1702000002、1702000003"],
        ]

    def test_at_the_contract_and_at_connection_it_may_still_be_withdrawn(
        self,
        city,
        staff,
        nearby_index,
    ):
        for step, actor_role in ((Step.CONTRACT, Role.CUSTOMER_MANAGER),
                                 (Step.CONNECTION, Role.FIELD_STAFF)):  # fmt: skip
            group = factories.group(actor=city.south_admin, unit=city.south,
                                    place=city.south_place, sub_accounts=1)  # fmt: skip
            order = services.order_group_start(
                actor=staff[Role.CLERK], group_id=group.pk, kind="change",
                application=services.Application(), now=NOW,
            )  # fmt: skip
            services.order_change_line_add(
                actor=staff[Role.CLERK], order_id=order.pk, now=NOW,
                account_number=group.points.get(kind="sub").account_number, name="改名",
                device_address="", access_point_number="",
            )  # fmt: skip
            to_survey(order, staff)
            services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
            if step == Step.CONNECTION:
                run_contract_and_connection(order, staff)
                WorkOrder.objects.filter(pk=order.pk).update(step=Step.CONNECTION)

            self.withdraw(staff[actor_role], order)

            order.refresh_from_db()
            assert (order.step, order.withdrawn_at) == (Step.DONE, LATER)

    def test_after_connection_it_is_refused_and_nothing_changes(self, city, staff, order):
        to_survey(order, staff)
        services.order_step_complete(actor=staff[Role.SURVEYOR], order_id=order.pk, now=NOW)
        run_contract_and_connection(order, staff)
        before = snapshot(order)

        with pytest.raises(services.UnableToProgressOrder) as refused:
            self.withdraw(staff[Role.CLERK], order)

        assert refused.value.problems == [
            "工单已过接电（或拆表），点位已在现场接入，不能撤销；如需取消请发起变更或销户。"
        ]
        assert snapshot(order) == before

    def test_without_the_confirmation_or_a_reason_it_is_refused(self, city, staff, order):
        before = snapshot(order)

        with pytest.raises(services.UnableToProgressOrder) as refused:
            self.withdraw(staff[Role.CLERK], order, reason=" ", confirmed=False)

        assert [(p.field, str(p)) for p in refused.value.problems] == [
            ("reason", "撤销须填写原因。"),
            ("confirm", "撤销不可恢复，请勾选确认后再提交。"),
        ]
        assert snapshot(order) == before

    def test_a_role_that_neither_does_the_step_nor_accepts_is_refused(self, city, staff, order):
        before = snapshot(order)

        with pytest.raises(services.StepNotAllowed):
            self.withdraw(staff[Role.BILLING], order)

        assert snapshot(order) == before

    def test_a_retired_number_is_never_issued_again(self, city, staff, order):
        to_survey(order, staff)
        self.withdraw(staff[Role.CLERK], order)
        # Even if the unit's counter were set back, the retired numbers are skipped.
        AccountNumberCounter.objects.filter(unit=city.south).update(last_sequence=0)

        from django.db import transaction

        with transaction.atomic():
            numbers = account_numbers_issue(unit=city.south, count=2)

        assert numbers == ["1702000004", "1702000005"]

    def test_on_the_page_withdrawal_needs_the_box_ticked(self, client, city, staff, order):
        client.force_login(staff[Role.CLERK])

        refused = client.post(reverse("workorders:withdraw", args=[order.pk]),
                              {"reason": "客户取消"})  # fmt: skip
        done = client.post(reverse("workorders:withdraw", args=[order.pk]),
                           {"reason": "客户取消", "confirm": "on"}, follow=True)  # fmt: skip

        assert refused.status_code == 400
        assert (
            '<span class="field-error" id="error-confirm" role="alert">'
            "撤销不可恢复，请勾选确认后再提交。</span>"
        ) in refused.content.decode()
        assert 'value="客户取消"' in refused.content.decode()
        assert "本工单已于" in done.content.decode()
        order.refresh_from_db()
        assert order.withdrawal_reason == "客户取消"
