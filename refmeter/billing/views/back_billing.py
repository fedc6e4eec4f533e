from __future__ import annotations

import datetime as dt
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.anomalies.selectors import case_get
from refmeter.billing import services
from refmeter.billing.models import BackBilling, BackBillingMethod, Bill
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.selectors import RecordNotVisible


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _visible_bills(user: User) -> QuerySet[Bill]:
    return Bill.objects.filter(unit_scope(user=user, unit_field="group__unit"))


@login_required
def back_billing_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    source = request.POST if request.method == "POST" else request.GET
    try:
        case = case_get(user=user, case_id=int(source.get("case", "0")))
    except (RecordNotVisible, ValueError) as error:
        return render(request, "refusal.html", {"message": str(error)}, status=404)
    if request.method == "POST":
        try:
            start = dt.date.fromisoformat(request.POST.get("period_start", ""))
            end = dt.date.fromisoformat(request.POST.get("period_end", ""))
            parameters = {
                key: request.POST[key]
                for key in ("baseline_start", "baseline_end", "correct_points")
                if request.POST.get(key)
            }
            item = services.back_billing_compute(
                actor=user, group_id=case.group_id, method=request.POST.get("method", ""),
                period_start=start, period_end=end, now=timezone.now(), case_id=case.pk,
                parameters=parameters,
            )  # fmt: skip
        except ValueError:
            messages.error(request, _("请填写退补期间的开始和结束日期。"))
        except (services.UnableToBill, ActionNotAllowed, RecordNotVisible) as error:
            messages.error(request, str(error))
        else:
            return redirect("billing:back_billing", back_billing_id=item.pk)
    return render(
        request,
        "billing/back_billing_new.html",
        {"case": case, "methods": BackBillingMethod.choices, "today": timezone.localdate()},
    )


@login_required
def back_billing_detail(request: HttpRequest, back_billing_id: int) -> HttpResponse:
    item = BackBilling.objects.filter(
        unit_scope(user=_user(request), unit_field="group__unit"), pk=back_billing_id
    ).first()
    if item is None:
        return render(request, "refusal.html", {"message": _("没有这条退补记录。")}, status=404)
    return render(request, "billing/back_billing.html", {"item": item})


@login_required
@require_POST
def back_billing_approve(request: HttpRequest, back_billing_id: int) -> HttpResponse:
    try:
        services.back_billing_approve(
            actor=_user(request), back_billing_id=back_billing_id, now=timezone.now()
        )
    except (services.UnableToBill, ActionNotAllowed) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已审批，将在下一期账单中结算。"))
    return redirect("billing:back_billing", back_billing_id=back_billing_id)
