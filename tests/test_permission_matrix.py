"""Every role against every action of docs/permissions.md.

Each action has a probe that attempts it as a user of the role through its page or the API
(through the service where the action has no page). The attempt is allowed exactly when
``ROLES_FOR_ACTION`` says so: then it does what it does; otherwise the answer is a 403 or a
Chinese refusal, and nothing is written.

The data every probe needs is built once for the module, inside a transaction rolled back at
its end; each test runs in a savepoint of it, so no probe sees another's writes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from refmeter.anomalies.models import AnomalyCase, ContactSheet
from refmeter.anomalies.services import anomaly_case_open_by_hand, contact_sheet_send
from refmeter.audit.models import AuditEntry
from refmeter.billing.models import BackBilling, BillingRun
from refmeter.billing.services import back_billing_compute, billing_run, tariff_create
from refmeter.common.models import Job
from refmeter.inspections.models import InspectionPlan, InspectionResult
from refmeter.labels.models import Label
from refmeter.labels.selectors import targets_for_group, targets_for_points
from refmeter.labels.services import labels_issue
from refmeter.labels.tasks import LABEL_PRINT
from refmeter.lineloss.models import AreaEnergy
from refmeter.masterdata.tasks import MASTER_LOAD
from refmeter.organisations.models import Role, SupplyUnit, User
from refmeter.organisations.permissions import (
    ROLES_FOR_ACTION,
    Action,
    ActionNotAllowed,
    refusal_message,
)
from refmeter.organisations.services import api_token_create
from refmeter.outages.models import NoticeTemplate, Outage, OutageKind
from refmeter.outages.selectors import OUTAGE_NOTIFY, notice_template_current
from refmeter.outages.services import outage_create
from refmeter.readings.models import MeterReading
from refmeter.readings.tasks import READINGS_IMPORT
from refmeter.registry.models import GroupTerms, NearbyNumber, Point, PointKind
from refmeter.registry.services import nearby_index_load
from refmeter.spreadsheets.tasks import STOCK_IMPORT
from refmeter.workorders import services as orders
from refmeter.workorders.models import ArchiveDocument, OrderKind, Step, WorkOrder
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


def _build() -> World:
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


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    with ExitStack() as stack:
        stack.enter_context(django_db_blocker.unblock())
        stack.enter_context(time_machine.travel(NOW, tick=False))
        stack.enter_context(
            override_settings(
                MEDIA_ROOT=str(tmp_path_factory.mktemp("files")),
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            )
        )
        stack.enter_context(translation.override("zh-hans"))
        stack.enter_context(transaction.atomic())
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _in_a_savepoint(world, db):
    """Each probe in its own savepoint of the module's transaction (the ``db`` fixture)."""


# ---------------------------------------------------------------- probes


@dataclass(frozen=True)
class Answer:
    status: int | str
    text: str


def _page(response: Any) -> Answer:
    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    return Answer(response.status_code, response.content.decode(errors="replace") + shown)


def _api(response: Any) -> Answer:
    return Answer(response.status_code, json.dumps(response.json(), ensure_ascii=False))


def _service(call: Callable[[], object]) -> Answer:
    try:
        call()
    except ActionNotAllowed as refusal:
        return Answer("refused", str(refusal))
    return Answer("done", "")


def _as(client: Client, world: World, role: Role) -> Client:
    client.force_login(world.users[role])
    return client


def _bearer(world: World, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def _jobs(kind: str) -> Callable[[World], int]:
    return lambda world: Job.objects.filter(kind=kind).count()


def _count(model: Any) -> Callable[[World], int]:
    return lambda world: model.objects.count()


def _step(step: Step) -> Callable[[World], str]:
    return lambda world: WorkOrder.objects.get(pk=world.orders[step]).step


def _plus_one(before: Any) -> Any:
    return before + 1


def _unchanged(before: Any) -> Any:
    return before


def _nothing(world: World) -> None:
    return None


@dataclass(frozen=True)
class Probe:
    action: Action
    via: str  # page, api or service
    attempt: Callable[[World, Role, Client], Answer]
    state: Callable[[World], Any]  # what the action writes
    done: Callable[[Any], Any]  # the state after an allowed attempt, from the state before
    allowed: int | str  # the answer's status when allowed
    refused: int | str  # and when refused
    refusal: str = ""  # the refusal shown; the action's refusal message if empty
    shows: Callable[[World], str] | None = None  # what an allowed read shows

    @property
    def name(self) -> str:
        return f"{self.action.value}-{self.via}"


def _return(step: Step, back_to: Step, refusal: str) -> Probe:
    """Sending an order back from a step is done by the step's role."""
    return Probe(
        {
            Step.SURVEY: Action.SURVEY_SITE,
            Step.CONTRACT: Action.SIGN_CONTRACT,
            Step.CONNECTION: Action.CONNECT_POINTS,
            Step.INSTALLATION: Action.ENTER_INSTALLATION,
            Step.REMOVAL: Action.REMOVE_METER,
        }[step],
        "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("workorders:return", args=[w.orders[step]]), {"reason": "资料不全"}
            )
        ),
        _step(step),
        lambda before: back_to,
        302,
        403,
        refusal,
    )


def _readings_row(w: World) -> dict[str, str]:
    return {"meter_asset_number": w.meter, "reading_date": "2026-07-02",
            "forward_total": "1186.00", "reverse_total": "0"}  # fmt: skip


PROBES = [
    Probe(
        Action.VIEW_REGISTRY, "page",
        lambda w, role, client: _page(_as(client, w, role).get(reverse("registry:group_search"))),
        _nothing, _unchanged, 200, 403, shows=lambda w: w.base_account_number,
    ),
    Probe(
        Action.VIEW_REGISTRY, "api",
        lambda w, role, client: _api(client.get("/api/v1/groups", headers=_bearer(w, role))),
        _nothing, _unchanged, 200, 403, shows=lambda w: w.base_account_number,
    ),
    Probe(
        Action.EXPORT_REGISTRY, "page",
        lambda w, role, client: _page(
            _as(client, w, role).get(reverse("registry:group_export", args=[w.group_id]))
        ),
        _nothing, _unchanged, 200, 403,
    ),
    Probe(
        Action.VIEW_STATISTICS, "page",
        lambda w, role, client: _page(_as(client, w, role).get(reverse("registry:statistics"))),
        _nothing, _unchanged, 200, 403,
    ),
    Probe(
        Action.VIEW_STATISTICS, "api",
        lambda w, role, client: _api(client.get("/api/v1/statistics", headers=_bearer(w, role))),
        _nothing, _unchanged, 200, 403,
    ),
    Probe(
        Action.EDIT_SUB_ACCOUNT, "api",
        lambda w, role, client: _api(
            client.patch(
                f"/api/v1/points/{w.point_id}", {"reason": "更正户名", "name": "矩阵新户名"},
                content_type="application/json", headers=_bearer(w, role),
            )
        ),
        lambda w: Point.objects.get(pk=w.point_id).name, lambda before: "矩阵新户名", 200, 403,
    ),
    Probe(
        Action.MANAGE_REGISTRY, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("registry:group_terms", args=[w.group_id]),
                {"ct_ratio": "2", "tariff_code": "LV-NONRES", "from_date": "2026-07-01",
                 "reason": "更换互感器"},
            )
        ),
        lambda w: GroupTerms.objects.filter(group_id=w.group_id).count(), _plus_one, 302, 403,
    ),
    Probe(
        Action.LOAD_NEARBY_INDEX, "service",
        lambda w, role, client: _service(
            lambda: nearby_index_load(
                actor=w.users[role],
                rows=[["就近户号/局号", "接入点编号"], ["1701636799", w.place_number]],
                now=NOW,
            )
        ),
        _count(NearbyNumber), _plus_one, "done", "refused",
    ),
    Probe(
        Action.EXPORT_STOCK, "page",
        lambda w, role, client: _page(
            _as(client, w, role).get(reverse("spreadsheets:stock_download"))
        ),
        _nothing, _unchanged, 200, 403,
    ),
    Probe(
        Action.IMPORT_STOCK, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("spreadsheets:stock_upload"),
                {"file": SimpleUploadedFile("核查清单.xlsx", w.sheet)},
            )
        ),
        _jobs(STOCK_IMPORT), _plus_one, 302, 403,
    ),
    Probe(
        Action.ACCEPT_APPLICATION, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("workorders:new_install"),
                {"customer": w.customer_id, "device_type": w.device_id, "handler_name": "李四"},
            )
        ),
        _count(WorkOrder), _plus_one, 302, 403,
        "“受理”环节应由受理员办理，您的岗位角色无权操作。",
    ),
    _return(Step.SURVEY, Step.ACCEPTANCE, "“勘察”环节应由勘察员办理，您的岗位角色无权操作。"),
    _return(Step.CONTRACT, Step.SURVEY, "“合同”环节应由客户经理办理，您的岗位角色无权操作。"),
    _return(
        Step.CONNECTION, Step.CONTRACT,
        "“接电”环节应由装接/用电检查人员办理，您的岗位角色无权操作。",
    ),
    _return(
        Step.INSTALLATION, Step.CONNECTION,
        "“安装信息录入”环节应由装接/用电检查人员、勘察员办理，您的岗位角色无权操作。",
    ),
    _return(
        Step.REMOVAL, Step.ACCEPTANCE,
        "“拆表”环节应由装接/用电检查人员办理，您的岗位角色无权操作。",
    ),
    Probe(
        Action.ARCHIVE_ORDER, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("workorders:document_upload", args=[w.orders[Step.ARCHIVE]]),
                {"kind": "application_form",
                 "file": SimpleUploadedFile("申报表.pdf", b"%PDF-1.4 scanned", "application/pdf")},
            )
        ),
        lambda w: ArchiveDocument.objects.filter(order_id=w.orders[Step.ARCHIVE]).count(),
        _plus_one, 302, 403, "“归档”环节应由客户经理办理，您的岗位角色无权操作。",
    ),
    Probe(
        Action.PRINT_LABELS, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("labels:print"),
                {"source": "group", "id": w.group_id, "layout": "a4-3x8", "confirm_void": "on"},
            )
        ),
        _jobs(LABEL_PRINT), _plus_one, 302, 403,
    ),
    Probe(
        Action.PRINT_LABELS, "service",
        lambda w, role, client: _service(
            lambda: labels_issue(
                actor=w.users[role], targets=targets_for_group(user=w.builder, group_id=w.group_id),
                batch="重印", now=NOW,
            )
        ),
        lambda w: (Label.objects.count(), Label.objects.filter(voided_at__isnull=True).count()),
        lambda before: (before[0] + 3, before[1] + 2), "done", "refused",
    ),
    Probe(
        Action.PLAN_INSPECTIONS, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("inspections:plans"),
                {"unit": w.south.pk, "period_start": "2026-07-01", "seed": "7", "fraction": "0.2"},
            )
        ),
        _count(InspectionPlan), _plus_one, 302, 403,
    ),
    Probe(
        Action.RECORD_INSPECTION, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("labels:inspection", args=[w.label_token]), {"finding": "sealed"}
            )
        ),
        _count(InspectionResult), _plus_one, 302, 302,
    ),
    Probe(
        Action.IMPORT_READINGS, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("readings:import"),
                {"file": SimpleUploadedFile(
                    "readings.csv",
                    f"电能表资产编号,冻结日期,正向有功总,反向有功总\n{w.meter},2026-07-02,1186.00,0\n"
                    .encode(),
                )},
            )
        ),
        _jobs(READINGS_IMPORT), _plus_one, 302, 403,
    ),
    Probe(
        Action.IMPORT_READINGS, "api",
        lambda w, role, client: _api(
            client.post(
                "/api/v1/readings", {"readings": [_readings_row(w)]},
                content_type="application/json", headers=_bearer(w, role),
            )
        ),
        _count(MeterReading), _plus_one, 200, 403,
    ),
    Probe(
        Action.OPEN_ANOMALY_CASE, "service",
        lambda w, role, client: _service(
            lambda: anomaly_case_open_by_hand(
                actor=w.users[role], group_id=w.group_id, kind="theft", since=JUNE,
                note="现场发现接线无封印", now=NOW,
            )
        ),
        _count(AnomalyCase), _plus_one, "done", "refused",
    ),
    Probe(
        Action.SEND_CONTACT_SHEET, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("anomalies:sheet_send", args=[w.open_case_id]), {"request": "请现场核实"}
            )
        ),
        _count(ContactSheet), _plus_one, 302, 302,
    ),
    Probe(
        Action.RECORD_FINDING, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("anomalies:sheet_answer", args=[w.sheet_case_id]),
                {"finding": "no_fault", "note": "", "found_on": "2026-07-01"},
            )
        ),
        lambda w: AnomalyCase.objects.get(pk=w.sheet_case_id).status, lambda before: "closed",
        302, 302,
    ),
    Probe(
        Action.RUN_BILLING, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(reverse("billing:runs"), {"period": "2026-05"})
        ),
        _count(BillingRun), _plus_one, 302, 302,
    ),
    Probe(
        Action.CLOSE_BILLING_MONTH, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("billing:run_close", args=[w.run_id]),
                {"confirm": "1", "allow_unbilled": "1"},
            )
        ),
        lambda w: BillingRun.objects.get(pk=w.run_id).status, lambda before: "closed", 302, 200,
    ),
    Probe(
        Action.COMPUTE_BACK_BILLING, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("billing:back_billing_new"),
                {"case": w.compute_case_id, "method": "rated", "period_start": "2026-06-01",
                 "period_end": "2026-07-01", "confirm_over_bound": "1",
                 "shown_amount": str(w.compute_amount)},
            )
        ),
        _count(BackBilling), _plus_one, 302, 403,
    ),
    Probe(
        Action.APPROVE_BACK_BILLING, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(reverse("billing:back_billing_approve", args=[w.draft_id]))
        ),
        lambda w: BackBilling.objects.get(pk=w.draft_id).status, lambda before: "approved",
        302, 302,
    ),
    Probe(
        Action.VIEW_BACK_BILLINGS, "page",
        lambda w, role, client: _page(
            _as(client, w, role).get(reverse("billing:back_billings"))
        ),
        _nothing, _unchanged, 200, 403, shows=lambda w: w.base_account_number,
    ),
    Probe(
        Action.LOAD_AREA_ENERGY, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("lineloss:report"),
                {"period": "2026-06", "file": SimpleUploadedFile("供售电量.xlsx", w.sheet)},
            )
        ),
        _count(AreaEnergy), _plus_one, 302, 403,
    ),
    Probe(
        Action.MANAGE_OUTAGES, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("outages:list"),
                {"unit": w.south.pk, "kind": "planned", "starts_at": "2026-07-20T08:30",
                 "ends_at": "2026-07-20T17:00", "reason": "线路检修", "areas": w.area_number},
            )
        ),
        _count(Outage), _plus_one, 302, 403,
    ),
    Probe(
        Action.SEND_OUTAGE_NOTICES, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("outages:send", args=[w.outage_id]), {"confirm": "1"}
            )
        ),
        _jobs(OUTAGE_NOTIFY), _plus_one, 302, 403,
    ),
    Probe(
        Action.RECONCILE_MARKETING, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("reconciliation:reconcile"),
                {"as_of": "2026-07-01", "file": SimpleUploadedFile(
                    "营销.csv", f"户号,综合倍率,状态\n{w.base_account_number},99,在用\n".encode())},
            )
        ),
        _nothing, _unchanged, 200, 403, shows=lambda w: w.base_account_number,
    ),
    Probe(
        Action.MANAGE_USERS, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("organisations:user_new"),
                {"username": "new_user", "full_name": "新用户", "unit": w.south.pk,
                 "role": Role.CLERK.value, "phone": "13800000000"},
            )
        ),
        _count(User), _plus_one, 302, 403,
    ),
    Probe(
        Action.LOAD_MASTER_DATA, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("masterdata:upload"),
                {"kind": "device_types", "file": SimpleUploadedFile(
                    "device-types.csv", "名称,额定功率,日运行小时\n矩阵设备,100,24\n".encode())},
            )
        ),
        _jobs(MASTER_LOAD), _plus_one, 302, 403,
    ),
    Probe(
        Action.EDIT_NOTICE_TEMPLATE, "page",
        lambda w, role, client: _page(
            _as(client, w, role).post(
                reverse("outages:template"),
                {"text": "【供电公司】{customer}：{window}停电，影响{count}处。", "note": "矩阵",
                 "based_on": notice_template_current().version},
            )
        ),
        lambda w: notice_template_current().version, _plus_one, 302, 403,
    ),
]  # fmt: skip


WRITTEN = (AuditEntry, Job, WorkOrder, ArchiveDocument, GroupTerms, NearbyNumber, Label,
           MeterReading, AnomalyCase, ContactSheet, InspectionPlan, InspectionResult, BillingRun,
           BackBilling, AreaEnergy, Outage, NoticeTemplate)  # fmt: skip


def written() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


class TestTheProbes:
    def test_cover_every_action_of_the_matrix(self):
        assert {probe.action for probe in PROBES} == set(Action)


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_a_role_may_do_an_action_exactly_when_the_matrix_says_so(world, client, probe, role):
    before, everything = probe.state(world), written()

    answer = probe.attempt(world, role, client)

    if role in ROLES_FOR_ACTION[probe.action]:
        assert answer.status == probe.allowed, answer.text[-2000:]
        assert probe.state(world) == probe.done(before)
        if probe.shows is not None:
            assert probe.shows(world) in answer.text
    else:
        assert answer.status == probe.refused, answer.text[-2000:]
        assert (probe.refusal or refusal_message(probe.action)) in answer.text
        assert probe.state(world) == before
        assert written() == everything
