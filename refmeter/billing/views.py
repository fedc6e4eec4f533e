from __future__ import annotations

import datetime as dt
import re
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.anomalies.selectors import case_get
from refmeter.billing import services
from refmeter.billing.models import BackBilling, BackBillingMethod, Bill, BillingRun
from refmeter.common.tables import write_xlsx
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.selectors import RecordNotVisible


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _visible_bills(user: User) -> QuerySet[Bill]:
    return Bill.objects.filter(unit_scope(user=user, unit_field="group__unit"))


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        match = re.fullmatch(r"(\d{4})-(\d{2})", request.POST.get("period", ""))
        if not match:
            messages.error(request, _("账期格式应为 YYYY-MM。"))
        else:
            try:
                result = services.billing_run(
                    actor=_user(request), year=int(match.group(1)), month=int(match.group(2)),
                    now=timezone.now(), close=bool(request.POST.get("close")),
                )  # fmt: skip
            except (ActionNotAllowed, ValueError) as error:
                messages.error(request, str(error))
            else:
                if result.unchanged:
                    messages.warning(request, _("该账期已关账，未重新计算。"))
                else:
                    messages.success(
                        request,
                        _("已出账 %(bills)d 张，未出账 %(problems)d 户。")
                        % {"bills": result.bills, "problems": len(result.problems)},
                    )
        return redirect("billing:runs")
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return render(
        request,
        "billing/runs.html",
        {"runs": BillingRun.objects.all()[:36], "default_period": last_month},
    )


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = BillingRun.objects.filter(pk=run_id).first()
    if run is None:
        return render(request, "refusal.html", {"message": _("没有这个账期。")}, status=404)
    bills = _visible_bills(_user(request)).filter(run=run).order_by("base_account_number")
    page = Paginator(bills, settings.REFMETER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/run_detail.html", {"run": run, "page": page})


@login_required
def run_export(request: HttpRequest, run_id: int) -> HttpResponse:
    bills = _visible_bills(_user(request)).filter(run_id=run_id).order_by("base_account_number")
    header = [
        _("基准户号"), _("客户"), _("类型"), _("计费开始"), _("计费结束（不含）"), _("起度"),
        _("止度"), _("互感器倍率"), _("参考表电量"), _("天数"), _("点·天"), _("结算电量"),
        _("电度电费"), _("退补金额"), _("应收电费"),
    ]  # fmt: skip
    rows = (
        [
            bill.base_account_number, bill.customer_name, bill.get_kind_display(),
            bill.period_start, bill.period_end, bill.reading_start, bill.reading_end,
            bill.ct_ratio, bill.reference_energy, bill.days, bill.point_days, bill.billed_energy,
            bill.energy_amount, bill.adjustment_amount, bill.total_amount,
        ]
        for bill in bills.iterator(chunk_size=2000)
    )  # fmt: skip
    response = HttpResponse(
        write_xlsx(title=_("电费账单"), header=header, rows=rows),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="bills-{run_id}.xlsx"'
    return response


@login_required
def bill_detail(request: HttpRequest, bill_id: int) -> HttpResponse:
    bill = _visible_bills(_user(request)).filter(pk=bill_id).select_related("run").first()
    if bill is None:
        return render(
            request,
            "refusal.html",
            {"message": _("没有这张账单，或它不属于您的单位。")},
            status=404,
        )
    return render(
        request,
        "billing/bill_detail.html",
        {"bill": bill, "points": bill.points.all(), "adjustments": bill.adjustments.all()},
    )


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
