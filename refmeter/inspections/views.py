from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.forms import form_problems
from refmeter.inspections.forms import InspectionPlanForm
from refmeter.inspections.selectors import photo_get, plan_rows, plan_targets
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
    if request.method == "POST":
        form = InspectionPlanForm(request.POST, units=[(unit.pk, unit.name) for unit in units])
        if not form.is_valid():
            for problem in form_problems(form):
                messages.error(request, problem)
        else:
            data = form.cleaned_data
            try:
                plan = inspection_plan_create(
                    actor=user, unit=units.get(pk=data["unit"]), period_start=data["period_start"],
                    now=timezone.now(), seed=data["seed"],
                    fraction=data["fraction"] if data["fraction"] is not None else Decimal("0.2"),
                )  # fmt: skip
            except (UnableToRecordInspection, ActionNotAllowed, RecordNotVisible) as error:
                messages.error(request, str(error))
            else:
                return redirect("inspections:plan", plan_id=plan.pk)
    return render(
        request,
        "inspections/plans.html",
        {
            "rows": plan_rows(user=user, today=timezone.localdate()),
            "units": units,
        },
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


@login_required
def photo(request: HttpRequest, photo_id: int, size: str = "full") -> HttpResponseBase:
    """A finding's photo (or its preview), only to users who may see its point."""
    try:
        found = photo_get(user=_user(request), photo_id=photo_id)
    except (RecordNotVisible, ActionNotAllowed) as refusal:
        return render(request, "refusal.html", {"message": str(refusal)}, status=404)
    if size == "thumb":
        return FileResponse(found.thumbnail.open("rb"), content_type="image/jpeg")
    return FileResponse(found.file.open("rb"), content_type=found.content_type)
