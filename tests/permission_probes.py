"""One probe per action of docs/permissions.md (and per way to it: page, API or service):
how a user of a role attempts it, what it writes, and what the answer is when allowed and
when refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase, ContactSheet
from refmeter.anomalies.services import anomaly_case_open_by_hand
from refmeter.billing.models import BackBilling, BillingRun
from refmeter.common.models import Job
from refmeter.inspections.models import InspectionPlan, InspectionResult
from refmeter.labels.models import Label
from refmeter.labels.selectors import targets_for_group
from refmeter.labels.services import labels_issue
from refmeter.labels.tasks import LABEL_PRINT
from refmeter.lineloss.models import AreaEnergy
from refmeter.masterdata.tasks import MASTER_LOAD
from refmeter.organisations.models import Role, User
from refmeter.organisations.permissions import (
    Action,
    ActionNotAllowed,
)
from refmeter.outages.models import Outage
from refmeter.outages.selectors import OUTAGE_NOTIFY, notice_template_current
from refmeter.readings.models import MeterReading
from refmeter.readings.tasks import READINGS_IMPORT
from refmeter.registry.models import GroupTerms, NearbyNumber, Point
from refmeter.registry.services import nearby_index_load
from refmeter.spreadsheets.tasks import STOCK_IMPORT
from refmeter.workorders.models import ArchiveDocument, Step, WorkOrder
from tests.permission_world import JUNE, NOW, World


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
