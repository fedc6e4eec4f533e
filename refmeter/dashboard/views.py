from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import cast

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from refmeter.anomalies.models import AnomalyCase, CaseStatus
from refmeter.common.periods import Period
from refmeter.dashboard.selectors import home_todos
from refmeter.dashboard.trends import dashboard_trends
from refmeter.inspections.selectors import plan_rows
from refmeter.lineloss.selectors import lineloss_report
from refmeter.organisations.models import Role, User
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.outages.models import Outage
from refmeter.outages.selectors import affected_points, notified_point_count
from refmeter.registry.selectors import point_statistics
from refmeter.workorders.models import Step, WorkOrder
from refmeter.workorders.selectors import archive_deadlines


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    today = timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    orders = WorkOrder.objects.filter(unit_scope(user=user)).exclude(step=Step.DONE)
    by_step = dict(
        orders.values_list("step").annotate(count=Count("id")).values_list("step", "count")
    )
    cases = AnomalyCase.objects.filter(
        unit_scope(user=user, unit_field="group__unit"), status=CaseStatus.OPEN
    )
    kinds = dict(AnomalyCase._meta.get_field("kind").choices)  # type: ignore[arg-type]
    report = lineloss_report(
        period=Period.month(last.year, last.month), unit_filter=unit_scope(user=user)
    )
    moves = Counter(row.moved for row in report if row.moved)
    chosen = request.GET.get("unit", "")
    trends = dashboard_trends(
        user=user,
        today=today,
        unit_id=int(chosen) if chosen.isdigit() and len(chosen) < 12 else None,
    )
    # A manager over several service areas may look at one of them.
    trend_unit_choice = units_visible_to(user=user).count() > 1
    upcoming = Outage.objects.filter(unit_scope(user=user), starts_at__gte=timezone.now())[:20]
    pending = []
    for outage in upcoming:
        affected = len(affected_points(outage=outage))
        notified = notified_point_count(outage=outage)
        if notified < affected:
            pending.append({"outage": outage, "affected": affected, "notified": notified})
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "stats": point_statistics(user=user, as_of=today),
            "orders_open": orders.count(),
            "orders_by_step": [(Step(step).label, count) for step, count in by_step.items()],
            "deadlines": archive_deadlines(user=user, today=today),
            "cases_open": cases.count(),
            "cases_by_kind": [
                (kinds.get(kind, kind), count)
                for kind, count in cases.values_list("kind")
                .annotate(count=Count("id"))
                .values_list("kind", "count")
            ],
            "lineloss_month": f"{last:%Y-%m}",
            "into_qualified": moves.get("into_qualified", 0),
            "out_of_qualified": moves.get("out_of_qualified", 0),
            "plans": plan_rows(user=user, today=today)[:6],
            "pending_outages": pending,
            "trends": trends,
            "trends_data": {
                "months": trends.months,
                "trends": [
                    {
                        "key": t.key,
                        "series": [{"label": s.label, "values": s.values} for s in t.series],
                    }
                    for t in trends.trends
                ],
            },
            "trend_units": units_visible_to(user=user).order_by("path")
            if trend_unit_choice
            else [],
        },
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where each role lands: its to-do counts; a manager's is the dashboard."""
    user = cast(User, request.user)
    if user.role == Role.MANAGER and not user.is_superuser:
        return dashboard(request)
    return render(
        request,
        "dashboard/home.html",
        {"sections": home_todos(user=user, today=timezone.localdate())},
    )
