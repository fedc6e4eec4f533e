"""Each role's to-do counts for its home page.

Every count is scoped to the user's units and shown only to a role that may do the work
(the permission matrix decides); each business table is read once, with one aggregate of
several filtered counts, so the page costs the same few queries whatever the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase, CaseStatus
from refmeter.billing.models import BackBilling, BackBillingStatus, BillingRun, RunStatus
from refmeter.common.workdays import WorkingDaysUnknown, add_working_days
from refmeter.inspections.models import InspectionTarget
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, role_may
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Group, GroupStatus
from refmeter.workorders.models import Step, WorkOrder


@dataclass(frozen=True)
class Todo:
    key: str
    label: str
    count: int
    url: str
    urgent: bool = False


@dataclass(frozen=True)
class TodoSection:
    title: str
    items: list[Todo]


def _may(user: User, *actions: Action) -> bool:
    return any(role_may(user=user, action=action) for action in actions)


def _orders_url(**query: str) -> str:
    return f"{reverse('workorders:list')}?{urlencode({'view': 'open', **query})}"


def _order_todos(*, user: User, today: dt.date) -> list[Todo]:
    steps = [
        (Step.ACCEPTANCE, Action.ACCEPT_APPLICATION, _("待受理工单")),
        (Step.SURVEY, Action.SURVEY_SITE, _("待勘察工单")),
        (Step.CONTRACT, Action.SIGN_CONTRACT, _("待签合同")),
        (Step.CONNECTION, Action.CONNECT_POINTS, _("待接电工单")),
        (Step.INSTALLATION, Action.ENTER_INSTALLATION, _("待录入安装信息")),
        (Step.REMOVAL, Action.REMOVE_METER, _("待拆表工单")),
    ]
    wanted = [(step, label) for step, action, label in steps if _may(user, action)]
    deadlines = _may(user, Action.ACCEPT_APPLICATION, Action.ARCHIVE_ORDER)
    if not wanted and not deadlines:
        return []
    try:
        soon_until: dt.date | None = add_working_days(today, 2)
    except WorkingDaysUnknown:
        soon_until = None
    archive = Q(step=Step.ARCHIVE)
    due = archive & Q(archive_due_date__gte=today)
    if soon_until is not None:
        due &= Q(archive_due_date__lte=soon_until)
    counts = WorkOrder.objects.filter(unit_scope(user=user)).aggregate(
        overdue=Count("pk", filter=archive & Q(archive_due_date__lt=today)),
        due=Count("pk", filter=due),
        **{str(step): Count("pk", filter=Q(step=step)) for step, _label in wanted},
    )
    todos = [
        Todo(key=str(step), label=label, count=counts[str(step)], url=_orders_url(step=step))
        for step, label in wanted
    ]
    if deadlines:
        url = reverse("workorders:deadlines")
        todos += [
            Todo(
                key="archive_overdue", label=_("归档已超期"), count=counts["overdue"], url=url,
                urgent=counts["overdue"] > 0,
            ),
            Todo(key="archive_due", label=_("2 个工作日内归档到期"), count=counts["due"], url=url),
        ]  # fmt: skip
    return todos


def _case_todos(*, user: User, today: dt.date) -> list[Todo]:
    watch = _may(user, Action.SEND_CONTACT_SHEET)
    answer = _may(user, Action.RECORD_FINDING)
    if not watch and not answer:
        return []
    cases = AnomalyCase.objects.filter(unit_scope(user=user, unit_field="group__unit"))
    is_open = Q(status=CaseStatus.OPEN)
    week, month = today - dt.timedelta(days=7), today - dt.timedelta(days=30)
    counts = cases.aggregate(
        fresh=Count("pk", filter=is_open & Q(raised_on__gt=week)),
        weeks=Count("pk", filter=is_open & Q(raised_on__lte=week, raised_on__gt=month)),
        old=Count("pk", filter=is_open & Q(raised_on__lte=month)),
        sheets=Count("pk", filter=Q(sheet__isnull=False, sheet__answered_at__isnull=True)),
    )
    cases_url = f"{reverse('anomalies:list')}?status=open"
    sheets_url = f"{reverse('anomalies:list')}?status=sheet_pending"
    todos = []
    if watch:
        todos += [
            Todo(key="cases_fresh", label=_("处理中的异常：7 天内报出"), count=counts["fresh"],
                 url=cases_url),
            Todo(key="cases_weeks", label=_("处理中的异常：8 至 30 天"), count=counts["weeks"],
                 url=cases_url),
            Todo(key="cases_old", label=_("处理中的异常：超过 30 天"), count=counts["old"],
                 url=cases_url, urgent=counts["old"] > 0),
            Todo(key="sheets_unanswered", label=_("已发出未回复的联系单"), count=counts["sheets"],
                 url=sheets_url),
        ]  # fmt: skip
    elif answer:
        todos.append(
            Todo(key="sheets_to_answer", label=_("待回复的联系单"), count=counts["sheets"],
                 url=sheets_url, urgent=counts["sheets"] > 0)
        )  # fmt: skip
    return todos


def _inspection_todos(*, user: User, today: dt.date) -> list[Todo]:
    if not _may(user, Action.RECORD_INSPECTION):
        return []
    counts = InspectionTarget.objects.filter(
        unit_scope(user=user, unit_field="plan__unit"),
        result__isnull=True,
        plan__period_start__lte=today,
    ).aggregate(
        due=Count("pk", filter=Q(plan__period_end__gt=today)),
        overdue=Count("pk", filter=Q(plan__period_end__lte=today)),
    )
    url = reverse("inspections:plans")
    return [
        Todo(key="inspections_due", label=_("本期待检查的点位"), count=counts["due"], url=url),
        Todo(key="inspections_overdue", label=_("检查期已过仍未检查的点位"),
             count=counts["overdue"], url=url, urgent=counts["overdue"] > 0),
    ]  # fmt: skip


def _billing_todos(*, user: User, today: dt.date) -> list[Todo]:
    todos = []
    runs_url = reverse("billing:runs")
    last_start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    last_end = today.replace(day=1)
    if _may(user, Action.RUN_BILLING):
        # The units with a group to bill last month and no run for it yet (as the run
        # itself chooses its units).
        groups = Group.objects.filter(unit_scope(user=user), created_date__lt=last_end).filter(
            Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=last_start)
        )
        unbilled = (
            SupplyUnit.objects.filter(pk__in=groups.values("unit_id"))
            .exclude(pk__in=BillingRun.objects.filter(period_start=last_start).values("unit_id"))
            .count()
        )
        todos.append(
            Todo(key="months_to_bill", label=_("%(month)s 待出账的供电单位")
                 % {"month": f"{last_start:%Y-%m}"}, count=unbilled, url=runs_url)
        )  # fmt: skip
    if _may(user, Action.CLOSE_BILLING_MONTH):
        to_close = BillingRun.objects.filter(
            unit_scope(user=user), status=RunStatus.OPEN, period_end__lte=today
        ).count()
        todos.append(Todo(key="months_to_close", label=_("待关账的账期"), count=to_close,
                          url=runs_url))  # fmt: skip
    if _may(user, Action.APPROVE_BACK_BILLING):
        # Never the person who computed it: those are someone else's to approve.
        waiting = (
            BackBilling.objects.filter(
                unit_scope(user=user, unit_field="group__unit"), status=BackBillingStatus.DRAFT
            )
            .exclude(created_by=user)
            .count()
        )
        todos.append(
            Todo(key="back_billings_to_approve", label=_("待我审批的退补"), count=waiting,
                 url=f"{reverse('billing:back_billings')}?status={BackBillingStatus.DRAFT}")
        )  # fmt: skip
    return todos


def home_todos(*, user: User, today: dt.date) -> list[TodoSection]:
    """The user's to-do sections; empty ones are left out."""
    sections = [
        TodoSection(title=_("工单"), items=_order_todos(user=user, today=today)),
        TodoSection(title=_("现场检查"), items=_inspection_todos(user=user, today=today)),
        TodoSection(title=_("计量异常"), items=_case_todos(user=user, today=today)),
        TodoSection(title=_("电费"), items=_billing_todos(user=user, today=today)),
    ]
    return [section for section in sections if section.items]
