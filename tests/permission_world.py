"""The data the permission matrix test needs: a service area with a user and an API token
of each role, and something of each kind for every action to act on."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from openpyxl import Workbook

from refmeter.anomalies.models import AnomalyCase
from refmeter.anomalies.services import anomaly_case_open_by_hand, contact_sheet_send
from refmeter.billing.models import BackBilling, BillingRun
from refmeter.billing.services import back_billing_compute, billing_run, tariff_create
from refmeter.labels.selectors import targets_for_points
from refmeter.labels.services import labels_issue
from refmeter.organisations.models import Role, SupplyUnit, User
from refmeter.organisations.services import api_token_create
from refmeter.outages.models import OutageKind
from refmeter.outages.services import outage_create
from refmeter.registry.models import PointKind
from refmeter.registry.services import nearby_index_load
from refmeter.workorders import services as orders
from refmeter.workorders.models import OrderKind, Step
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


MAY = dt.date(2026, 5, 1)


JUNE = dt.date(2026, 6, 1)


JULY = dt.date(2026, 7, 1)


APPLICATION_LIST = [
    ["序号", "点位名称", "接电位置", "就近户号/局号", "备注"],
    [1, "城南新村56幢电信车库", "56幢2单元计量箱内", "1701636729", "新增"],
    [2, "南江枫林28幢2单元", "28幢2单元计量箱内", "1701636730", "新增"],
]


@dataclass
class World:
    south: SupplyUnit
    users: dict[Role, User]
    tokens: dict[Role, str]
    builder: User
    area_number: str
    place_number: str
    group_id: int  # 3 points on the single-rate tariff, May's and June's readings, a label
    meter: str
    point_id: int  # one of its sub-accounts
    base_account_number: str
    customer_id: int
    device_id: int
    orders: dict[Step, int]  # an order waiting at each step after acceptance
    open_case_id: int  # no contact sheet yet
    sheet_case_id: int  # its contact sheet waits for the finding
    compute_case_id: int  # another group's, never back-billed
    compute_amount: Decimal
    draft_id: int  # a back-billing computed by another billing user
    run_id: int  # June, billed, open
    outage_id: int
    label_token: str
    sheet: bytes  # an xlsx of one area's supply and sales


def _order_at(step: Step, *, actor: User, customer_id: int, device_id: int, n: int) -> int:
    """A new install taken through the steps before ``step`` by an administrator."""
    order = orders.order_new_install_start(
        actor=actor, customer_id=customer_id, device_type_id=device_id,
        application=orders.Application(handler_name="李四"), now=NOW,
    )  # fmt: skip
    orders.order_lines_import(actor=actor, order_id=order.pk, rows=APPLICATION_LIST, now=NOW)
    stages: list[tuple[Step, Callable[[], object]]] = [
        (Step.SURVEY, lambda: orders.order_survey_resolve(actor=actor, order_id=order.pk, now=NOW)),
        (Step.CONTRACT, lambda: orders.contract_save(
            actor=actor, order_id=order.pk, number=f"HT-2026-{n:04d}", start_date=JUNE,
            end_date=dt.date(2031, 5, 31), approved_by="王主任",
            approved_date=dt.date(2026, 6, 5), signed_date=dt.date(2026, 6, 10), now=NOW,
        )),
        (Step.CONNECTION, lambda: orders.connection_record(
            actor=actor, order_id=order.pk, connection_date=dt.date(2026, 6, 20),
            meter_asset_number=f"33100099{n:05d}", now=NOW,
        )),
        (Step.INSTALLATION, lambda: orders.installation_dates_set(
            actor=actor, order_id=order.pk, all_lines=dt.date(2026, 6, 22), now=NOW,
        )),
        (Step.ARCHIVE, lambda: None),
    ]  # fmt: skip
    orders.order_step_complete(actor=actor, order_id=order.pk, now=NOW)
    for at, work in stages:
        if at == step:
            return order.pk
        work()
        orders.order_step_complete(actor=actor, order_id=order.pk, now=NOW)
    raise AssertionError(step)


def _area_sheet(area_number: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["台区编号", "供电量", "售电量"])
    sheet.append([area_number, 1000, 950])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def world_build() -> World:
    company = factories.unit(code="33501")
    south = factories.unit(code="3350101", parent=company, prefix="1702")
    builder = factories.user(unit=south, username="builder")
    users = {role: factories.user(unit=south, role=role, username=f"m_{role}") for role in Role}
    tokens = {
        role: api_token_create(user=user, name="矩阵", now=NOW) for role, user in users.items()
    }
    area = factories.area(actor=builder, unit=south, number="3310000001")
    place = factories.access_point(actor=builder, area=area, number="33503000009083788")
    other_place = factories.access_point(actor=builder, area=area, number="33503000009083799")
    nearby_index_load(
        actor=builder,
        rows=[["就近户号/局号", "接入点编号"], ["1701636729", place.number],
              ["1701636730", other_place.number]],
        now=NOW,
    )  # fmt: skip
    tariff_create(
        code="LV-NONRES", name="一般工商业", effective_from=dt.date(2020, 1, 1),
        price=Decimal("0.6580"),
    )  # fmt: skip
    groups = []
    for _index in range(3):
        group = factories.group(
            actor=builder, unit=south, place=place, sub_accounts=2, active_from=dt.date(2026, 1, 1)
        )
        group = factories.group_terms(group, actor=builder, tariff_code="LV-NONRES")
        factories.readings(group, MAY, [Decimal(1000) + 3 * day for day in range(62)])
        groups.append(group)
    group, other, closing = groups
    point = group.points.filter(kind=PointKind.SUB).order_by("account_number").first()
    assert point is not None
    billing_run(actor=None, period="2026-06", now=NOW)

    def case(group_id: int, kind: str) -> AnomalyCase:
        return anomaly_case_open_by_hand(
            actor=builder, group_id=group_id, kind=kind, since=JUNE, note="矩阵", now=NOW
        )

    open_case, sheet_case, draft_case = (
        case(group.pk, "stopped"),
        case(group.pk, "zero"),
        case(group.pk, "multiplier"),
    )
    contact_sheet_send(actor=builder, case_id=sheet_case.pk, request="请现场核实", now=NOW)
    computer = factories.user(unit=south, role=Role.BILLING, username="computer")

    def back_billing(case_id: int, group_id: int) -> BackBilling:
        return back_billing_compute(
            actor=computer, group_id=group_id, method="rated", period_start=JUNE,
            period_end=JULY, now=NOW, case_id=case_id, confirm_over_bound=True,
        )  # fmt: skip

    draft = back_billing(draft_case.pk, group.pk)
    compute_case = case(other.pk, "multiplier")
    # the amount the compute page shows (and is confirmed for), computed once and rolled back
    trial = transaction.savepoint()
    compute_amount = back_billing(compute_case.pk, other.pk).amount
    transaction.savepoint_rollback(trial)

    customer = factories.customer(actor=builder, unit=south)
    device = factories.device_type(actor=builder, name="楼道EPON设备")
    order_ids = {
        step: _order_at(step, actor=builder, customer_id=customer.pk, device_id=device.pk, n=n)
        for n, step in enumerate(
            [Step.SURVEY, Step.CONTRACT, Step.CONNECTION, Step.INSTALLATION, Step.ARCHIVE]
        )
    }
    closure = orders.order_group_start(
        actor=builder, group_id=closing.pk, kind=OrderKind.CLOSURE,
        application=orders.Application(note="客户撤场"), now=NOW,
    )  # fmt: skip
    orders.order_step_complete(actor=builder, order_id=closure.pk, now=NOW)
    order_ids[Step.REMOVAL] = closure.pk

    outage = outage_create(
        actor=builder, unit=south, kind=OutageKind.PLANNED, starts_at=NOW + dt.timedelta(days=10),
        ends_at=NOW + dt.timedelta(days=10, hours=8), reason="线路检修",
        area_numbers=[area.number], access_point_numbers=[], now=NOW,
    )  # fmt: skip
    [label] = labels_issue(
        actor=builder, targets=targets_for_points(user=builder, point_ids=[point.pk]),
        batch="矩阵", now=NOW,
    )  # fmt: skip
    return World(
        south=south, users=users, tokens=tokens, builder=builder, area_number=area.number,
        place_number=place.number, group_id=group.pk, meter=group.meter_asset_number,
        point_id=point.pk, base_account_number=group.points.get(kind=PointKind.BASE).account_number,
        customer_id=customer.pk, device_id=device.pk, orders=order_ids,
        open_case_id=open_case.pk, sheet_case_id=sheet_case.pk, compute_case_id=compute_case.pk,
        compute_amount=compute_amount, draft_id=draft.pk,
        run_id=BillingRun.objects.get(unit=south, period_start=JUNE).pk, outage_id=outage.pk,
        label_token=label.token, sheet=_area_sheet(area.number),
    )  # fmt: skip
