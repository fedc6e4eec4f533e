from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.anomalies.selectors import case_get
from refmeter.billing import services
from refmeter.billing.forms import BackBillingForm
from refmeter.billing.models import BackBilling, BackBillingMethod, BackBillingStatus
from refmeter.billing.selectors import back_billing as selectors
from refmeter.common.forms import add_problems
from refmeter.common.listing import in_batches
from refmeter.common.tables import export_name, xlsx_response
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, ActionNotAllowed, refusal_message
from refmeter.registry.selectors import RecordNotVisible


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refusal(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "refusal.html", {"message": message}, status=status)


def _number(value: str | None) -> int | None:
    """A record id from the address; None for anything a database key cannot be."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _tab(request: HttpRequest) -> tuple[str, int | None, int | None]:
    """The tab (a state) and the record the list is narrowed to, if any."""
    case_id = _number(request.GET.get("case"))
    group_id = _number(request.GET.get("group"))
    narrowed = case_id is not None or group_id is not None
    status = request.GET.get("status") or (selectors.ALL if narrowed else BackBillingStatus.DRAFT)
    if status not in selectors.TABS:
        status = selectors.ALL
    return status, case_id, group_id


@login_required
def back_billing_list(request: HttpRequest) -> HttpResponse:
    """The unit's back-billings by state; ``case`` or ``group`` narrow them to one record's."""
    user = _user(request)
    status, case_id, group_id = _tab(request)
    try:
        items = selectors.visible_back_billings(
            user=user, status=status, case_id=case_id, group_id=group_id
        )
    except ActionNotAllowed as error:
        return _refusal(request, str(error), 403)
    page = Paginator(items, settings.REFMETER_PAGE_SIZE).get_page(request.GET.get("page"))
    narrowing: dict[str, str] = {
        key: str(value)
        for key, value in (("case", case_id), ("group", group_id))
        if value is not None
    }
    return render(
        request,
        "billing/back_billings.html",
        {
            "status": status,
            "tabs": [
                (tab, selectors.tab_label(tab), urlencode({**narrowing, "status": tab}))
                for tab in selectors.TABS
            ],
            "case_id": case_id,
            "group_id": group_id,
            "page": page,
            "rows": selectors.back_billing_rows(items=page.object_list),
            "query": urlencode({**narrowing, "status": status}),
        },
    )


@login_required
def back_billing_export(request: HttpRequest) -> HttpResponse:
    """The list's tab, every page of it, newest first as the page shows it."""
    user = _user(request)
    status, case_id, group_id = _tab(request)
    try:
        items = selectors.visible_back_billings(
            user=user, status=status, case_id=case_id, group_id=group_id
        )
    except ActionNotAllowed as error:
        return _refusal(request, str(error), 403)
    rows = (
        [row.back_billing_id, row.status_label, row.base_account_number, row.customer_name,
         row.case_label, row.method_label, row.period_start, row.period_end, row.energy,
         row.amount, row.created_by, row.created_at, row.approved_by, row.approved_at,
         row.withdrawn_by, row.withdrawn_at, row.withdrawal_reason]
        for batch in in_batches(items)
        for row in selectors.back_billing_rows(items=batch)
    )  # fmt: skip
    return xlsx_response(
        title=_("退补"),
        header=[_("编号"), _("状态"), _("基准户号"), _("客户"), _("异常"), _("计算方法"),
                _("退补期间开始"), _("退补期间结束（不含）"), _("退补电量（kWh）"), _("退补金额（元）"), _("计算人"),
                _("计算时间"), _("审批人"), _("审批时间"), _("撤回人"), _("撤回时间"),
                _("撤回原因")],
        rows=rows,
        name=export_name(_("退补"), selectors.tab_label(status),
                         user.unit.name if user.unit else "", timezone.localdate().isoformat(),
                         extension="xlsx"),
    )  # fmt: skip


@login_required
def back_billing_new(request: HttpRequest) -> HttpResponse:
    """Compute from an anomaly case. A result beyond the sanity bound comes back as a preview
    and is written only when confirmed for the very amount that was shown; a refusal comes
    back beside the field it concerns, with what was typed."""
    user = _user(request)
    if not services.may_bill(user, Action.COMPUTE_BACK_BILLING):
        return _refusal(request, refusal_message(Action.COMPUTE_BACK_BILLING), 403)
    source = request.POST if request.method == "POST" else request.GET
    try:
        case = case_get(user=user, case_id=int(source.get("case", "0")))
    except (RecordNotVisible, ValueError):
        return _refusal(request, _("未找到该异常，或它不属于您所在单位及下属单位。"), 404)
    preview, warning, refused = None, "", False
    if request.method == "POST":
        form = BackBillingForm(request.POST)
        refused = not form.is_valid()
        if not refused:
            data = form.cleaned_data

            def compute(confirm: bool) -> BackBilling:
                return services.back_billing_compute(
                    actor=user, group_id=case.group_id, method=data["method"],
                    period_start=data["period_start"], period_end=data["period_end"],
                    now=timezone.now(), case_id=case.pk, parameters=form.parameters(),
                    confirm_over_bound=confirm,
                )  # fmt: skip

            confirmed = request.POST.get("confirm_over_bound") == "1"
            try:
                try:
                    item = compute(confirm=False)
                except services.BackBillingOverBound as held:
                    # the confirmation holds only for the very amount the user was shown
                    shown = request.POST.get("shown_amount")
                    if not (confirmed and shown == str(held.preview.amount)):
                        raise
                    item = compute(confirm=True)
            except services.BackBillingOverBound as held:
                preview, warning = held.preview, str(held)
                if confirmed:
                    messages.warning(request, _("计算结果已变化，请重新核对后再确认。"))
                elif request.POST.get("shown_amount"):
                    messages.error(request, _("请先勾选“我已核对”，再确认提交。"))
            except (services.UnableToBill, ActionNotAllowed, RecordNotVisible) as error:
                add_problems(form, error.args[:1] or [str(error)])
                refused = True
            else:
                messages.success(request, _("退补已计算，待另一位电费人员审批。"))
                return redirect("billing:back_billing", back_billing_id=item.pk)
    else:
        form = BackBillingForm(
            initial={
                "method": BackBillingMethod.OWN_HISTORY,
                "period_start": case.condition_since,
                "period_end": timezone.localdate(),
            }
        )
    existing = selectors.case_current_back_billing(case_id=case.pk)
    return render(
        request,
        "billing/back_billing_new.html",
        {"case": case, "form": form, "preview": preview, "warning": warning, "existing": existing},
        status=400 if refused else 200,
    )


@login_required
def back_billing_detail(request: HttpRequest, back_billing_id: int) -> HttpResponse:
    user = _user(request)
    try:
        detail = selectors.back_billing_detail(user=user, back_billing_id=back_billing_id)
    except ActionNotAllowed as error:
        return _refusal(request, str(error), 403)
    if detail is None:
        return _refusal(request, _("没有这条退补记录，或它不属于您的单位。"), 404)
    return render(
        request,
        "billing/back_billing.html",
        {"item": detail, "row": detail.row},
    )


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


@login_required
@require_POST
def back_billing_withdraw(request: HttpRequest, back_billing_id: int) -> HttpResponse:
    try:
        services.back_billing_withdraw(
            actor=_user(request), back_billing_id=back_billing_id,
            reason=request.POST.get("reason", ""), now=timezone.now(),
        )  # fmt: skip
    except (services.UnableToBill, ActionNotAllowed) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("退补已撤回，可以重新计算。"))
    return redirect("billing:back_billing", back_billing_id=back_billing_id)
