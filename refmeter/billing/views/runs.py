from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.billing import services
from refmeter.billing.documents import bill_notice_pdf, bill_notices_pdf
from refmeter.billing.forms import BillFilterForm
from refmeter.billing.models import Bill, BillingRun
from refmeter.billing.selectors import runs as selectors
from refmeter.common.forms import form_problems
from refmeter.common.listing import Listing, export_queryset, list_params, page_queryset
from refmeter.common.tables import attachment, export_name, export_refused, xlsx_response
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    period, period_error = last_month, ""
    if request.method == "POST":
        period = request.POST.get("period", "")
        try:
            results = services.billing_run(actor=user, period=period, now=timezone.now())
        except ActionNotAllowed as error:
            messages.error(request, str(error))
        except services.UnableToBill as error:
            period_error = str(error)  # shown beside the month, as typed
        else:
            for result in results:
                if result.unchanged:
                    messages.warning(
                        request,
                        _("%(unit)s %(period)s 已关账，未重新计算。")
                        % {"unit": result.unit, "period": result.period},
                    )
                else:
                    messages.success(
                        request,
                        _("%(unit)s %(period)s：已出账 %(bills)d 户，未出账 %(unbilled)d 户。")
                        % {
                            "unit": result.unit,
                            "period": result.period,
                            "bills": result.bills,
                            "unbilled": result.unbilled,
                        },
                    )
            if len(results) == 1:
                return redirect("billing:run", run_id=results[0].run_id)
        if not period_error:
            return redirect("billing:runs")
    return render(
        request,
        "billing/runs.html",
        {
            "runs": selectors.visible_runs(user=user)[:60],
            "default_period": period,
            "period_error": period_error,
            "may_bill": services.may_bill(user),
        },
        status=400 if period_error else 200,
    )


@login_required
def runs_export(request: HttpRequest) -> HttpResponse:
    """Every month of the user's units (the page shows the latest 60), newest first."""
    user = _user(request)
    rows = (
        [row.period, row.unit_name, row.status_label, row.computed_at, row.closed_at, row.billed,
         row.unbilled, row.billed_energy, row.total_amount]
        for row in selectors.run_rows(runs=selectors.visible_runs(user=user))
    )  # fmt: skip
    return xlsx_response(
        title=_("电费账期"),
        header=[_("账期"), _("供电单位"), _("状态"), _("计算时间"), _("关账时间"), _("已出账户数"),
                _("未出账户数"), _("结算电量（kWh）"), _("应收电费（元）")],
        rows=rows,
        name=export_name(_("电费账期"), user.unit.name if user.unit else "",
                         timezone.localdate().isoformat(), extension="xlsx"),
    )  # fmt: skip


def _run_or_refusal(request: HttpRequest, run_id: int) -> BillingRun | HttpResponse:
    run = selectors.run_get(user=_user(request), run_id=run_id)
    if run is None:
        return render(
            request,
            "refusal.html",
            {"message": _("没有这个账期，或它不属于您的单位。")},
            status=404,
        )
    return run


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_refusal(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    form = BillFilterForm(request.GET)
    valid = form.is_valid()
    bills = selectors.run_bills(
        user=_user(request), run=run, **(form.cleaned_data if valid else {})
    )
    listing: Listing[Bill] = page_queryset(
        bills if valid else bills.none(),
        list_params(request.GET, sort_keys=list(selectors.BILL_SORTS), default_sort="account"),
        columns=selectors.BILL_SORTS,
        request_query=request.GET,
    )
    return render(
        request,
        "billing/run_detail.html",
        {
            "run": run,
            "summary": selectors.run_summary(run=run),
            "form": form,
            "problems": [] if valid else form_problems(form),
            "listing": listing,
        },
    )


@login_required
def run_close(request: HttpRequest, run_id: int) -> HttpResponse:
    """Closing is confirmed on its own page, which says what is billed and what is not."""
    run = _run_or_refusal(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    summary = selectors.run_summary(run=run)
    if request.method == "POST":
        if not request.POST.get("confirm"):
            messages.error(request, _("请勾选确认后再关账。"))
        else:
            try:
                services.billing_run_close(
                    actor=_user(request), run_id=run.pk, now=timezone.now(),
                    allow_unbilled=bool(request.POST.get("allow_unbilled")),
                )  # fmt: skip
            except (ActionNotAllowed, services.UnableToBill) as error:
                messages.error(request, str(error))
                # Someone may have closed it meanwhile: show the month as it is now.
                run.refresh_from_db()
                summary = selectors.run_summary(run=run)
            else:
                messages.success(
                    request,
                    _("%(unit)s %(period)s 已关账。")
                    % {"unit": summary.unit, "period": summary.period},
                )
                return redirect("billing:run", run_id=run.pk)
    return render(request, "billing/run_close.html", {"run": run, "summary": summary})


@login_required
def run_export(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_refusal(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    # For the marketing system: always the whole run, whatever the page's filters show.
    bills = selectors.run_bills(user=_user(request), run=run)
    header = [
        _("账单号"), _("基准户号"), _("客户"), _("类型"), _("计费开始"), _("计费结束（不含）"), _("起度"),
        _("止度"), _("互感器倍率"), _("参考表电量"), _("天数"), _("点·天"), _("结算电量"),
        _("电度电费"), _("退补金额"), _("应收电费"),
    ]  # fmt: skip
    rows = (
        [
            bill.number, bill.base_account_number, bill.customer_name, bill.get_kind_display(),
            bill.period_start, bill.period_end, bill.reading_start, bill.reading_end,
            bill.ct_ratio, bill.reference_energy, bill.days, bill.point_days, bill.billed_energy,
            bill.energy_amount, bill.adjustment_amount, bill.total_amount,
        ]
        for bill in bills.iterator(chunk_size=2000)
    )  # fmt: skip
    return xlsx_response(
        title=_("电费账单"),
        header=header,
        rows=rows,
        name=export_name(_("电费"), run.unit.name, f"{run.period_start:%Y-%m}", extension="xlsx"),
    )


@login_required
def run_bills_export(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run page's bill list with its filters and sort, every page of it."""
    run = _run_or_refusal(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    form = BillFilterForm(request.GET)
    if not form.is_valid():
        return export_refused(request, form_problems(form))
    bills = selectors.run_bills(user=_user(request), run=run, **form.cleaned_data)
    params = list_params(request.GET, sort_keys=list(selectors.BILL_SORTS), default_sort="account")
    listed: Iterator[Bill] = export_queryset(bills, params, columns=selectors.BILL_SORTS)
    rows = (
        [bill.number, bill.base_account_number, bill.customer_name, bill.get_kind_display(),
         bill.reference_energy, bill.point_days, bill.billed_energy, bill.adjustment_amount,
         bill.total_amount]
        for bill in listed
    )  # fmt: skip
    return xlsx_response(
        title=_("电费账单"),
        header=[_("账单号"), _("基准户号"), _("客户"), _("类型"), _("参考表电量"), _("点·天"),
                _("结算电量"), _("退补金额"), _("应收电费")],
        rows=rows,
        name=export_name(_("电费账单"), run.unit.name, f"{run.period_start:%Y-%m}",
                         extension="xlsx"),
    )  # fmt: skip


def _bill_or_refusal(request: HttpRequest, bill_id: int) -> Bill | HttpResponse:
    bill = (
        selectors.visible_bills(user=_user(request))
        .filter(pk=bill_id)
        .select_related("run__unit")
        .first()
    )
    if bill is None:
        return render(
            request,
            "refusal.html",
            {"message": _("没有这张账单，或它不属于您的单位。")},
            status=404,
        )
    return bill


@login_required
def bill_detail(request: HttpRequest, bill_id: int) -> HttpResponse:
    bill = _bill_or_refusal(request, bill_id)
    if isinstance(bill, HttpResponse):
        return bill
    return render(
        request,
        "billing/bill_detail.html",
        {
            "bill": bill,
            "points": bill.points.all(),
            "adjustments": bill.adjustments.all(),
            "revisions": bill.revisions.select_related("replaced_by"),
        },
    )


@login_required
def bill_notice(request: HttpRequest, bill_id: int) -> HttpResponse:
    bill = _bill_or_refusal(request, bill_id)
    if isinstance(bill, HttpResponse):
        return bill
    response = HttpResponse(bill_notice_pdf(bill), content_type="application/pdf")
    response["Content-Disposition"] = attachment(
        export_name(_("电费通知单"), bill.base_account_number, f"{bill.run.period_start:%Y-%m}",
                    extension="pdf")
    )  # fmt: skip
    return response


@login_required
def run_notices(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_refusal(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    bills = (
        selectors.run_bills(user=_user(request), run=run)
        .select_related("run__unit")
        .prefetch_related("adjustments")
    )
    name = export_name(_("电费通知单"), run.unit.name, f"{run.period_start:%Y-%m}", extension="pdf")
    response = HttpResponse(bill_notices_pdf(bills, title=name), content_type="application/pdf")
    response["Content-Disposition"] = attachment(name)
    return response
