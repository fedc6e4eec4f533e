from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.inspections.forms import InspectionPlanForm
from refmeter.inspections.selectors import plan_rows, plan_targets
from refmeter.inspections.services import UnableToRecordInspection, inspection_plan_create
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import units_visible_to
from refmeter.registry.selectors import RecordNotVisible


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
def plans(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    units = units_visible_to(user=user)
    form = InspectionPlanForm(
        request.POST if request.method == "POST" else None,
        units=[(unit.pk, unit.name) for unit in units],
        initial={"unit": user.unit_id, "fraction": Decimal("0.2")},
    )
    status = 400 if form.is_bound else 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            plan = inspection_plan_create(
                actor=user, unit=units.get(pk=data["unit"]), period_start=data["period_start"],
                now=timezone.now(), seed=data["seed"],
                fraction=data["fraction"] if data["fraction"] is not None else Decimal("0.2"),
            )  # fmt: skip
        except ActionNotAllowed as error:
            form.add_error(None, str(error))
            status = 403
        except (UnableToRecordInspection, RecordNotVisible) as error:
            form.add_error(None, str(error))
        else:
            return redirect("inspections:plan", plan_id=plan.pk)
    return render(
        request,
        "inspections/plans.html",
        {"form": form, "rows": plan_rows(user=user, today=timezone.localdate()), "units": units},
        status=status,
    )


@login_required
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan, targets = plan_targets(user=_user(request), plan_id=plan_id)
    if plan is None:
        return render(request, "refusal.html", {"message": _("未找到该检查计划。")}, status=404)
    return render(
        request,
        "inspections/plan.html",
        {"plan": plan, "targets": targets, "done": sum(1 for target in targets if target["done"])},
    )
