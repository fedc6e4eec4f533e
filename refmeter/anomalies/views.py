from __future__ import annotations

import datetime as dt
import json
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.anomalies import selectors, services
from refmeter.anomalies.documents import contact_sheet_document
from refmeter.anomalies.forms import CaseFilterForm, ContactSheetAnswerForm, ContactSheetForm
from refmeter.anomalies.models import AnomalyCase, AnomalyKind, CaseStatus
from refmeter.common.forms import form_problems
from refmeter.common.listing import export_queryset, list_params, page_queryset
from refmeter.common.pdf import document_pdf
from refmeter.common.tables import attachment, export_name, export_refused, xlsx_response
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.readings.selectors import meter_series
from refmeter.registry.selectors import RecordNotVisible, group_get


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refusal(request: HttpRequest, error: Exception, status: int) -> HttpResponse:
    return render(request, "refusal.html", {"message": str(error)}, status=status)


def _status(request: HttpRequest) -> str:
    status = request.GET.get("status", CaseStatus.OPEN)
    return status if status in (*CaseStatus.values, "sheet_pending") else CaseStatus.OPEN


def _statuses() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in CaseStatus.choices] + [
        ("sheet_pending", _("联系单待回复"))
    ]


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    status = _status(request)
    form = CaseFilterForm(request.GET)
    valid = form.is_valid()
    cases = selectors.case_search(
        user=_user(request), status=status, **(form.cleaned_data if valid else {})
    )
    if not valid:
        # A wrong filter (an inverted date range) is shown, not answered with no cases.
        cases = cases.none()
    today = timezone.localdate()
    listing = page_queryset(
        cases,
        list_params(request.GET, sort_keys=list(selectors.CASE_SORTS), default_sort="raised"),
        columns=selectors.CASE_SORTS,
        tie_breaker="id",
        request_query=request.GET,
        rows=lambda page: selectors.case_rows(cases=page, today=today),
    )
    return render(
        request,
        "anomalies/case_list.html",
        {
            "status": status,
            "statuses": _statuses(),
            "form": form,
            "problems": [] if valid else form_problems(form),
            "listing": listing,
            "rows": listing.rows,
        },
    )


@login_required
def case_list_export(request: HttpRequest) -> HttpResponse:
    """The list's tab with its filters and sort, every page of it."""
    user = _user(request)
    status = _status(request)
    form = CaseFilterForm(request.GET)
    if not form.is_valid():
        return export_refused(request, form_problems(form))
    cases = selectors.case_search(user=user, status=status, **form.cleaned_data)
    today = timezone.localdate()
    params = list_params(request.GET, sort_keys=list(selectors.CASE_SORTS), default_sort="raised")
    rows = (
        [row.raised_on, row.age_days, row.kind_label, row.status_label, row.base_account_number,
         row.customer_name, row.meter_asset_number, row.condition_since, row.sheet_number,
         _("已回复") if row.sheet_answered else "", row.cause_label]
        for row in export_queryset(
            cases, params, columns=selectors.CASE_SORTS, tie_breaker="id",
            rows=lambda batch: selectors.case_rows(cases=batch, today=today),
        )
    )  # fmt: skip
    return xlsx_response(
        title=_("计量异常"),
        header=[_("报出日期"), _("已过天数"), _("异常类型"), _("状态"), _("基准户号"), _("客户"),
                _("电能表资产编号"), _("异常起始日"), _("联系单"), _("联系单回复"), _("原因")],
        rows=rows,
        name=export_name(_("计量异常"), dict(_statuses())[status],
                         user.unit.name if user.unit else "", today.isoformat(), extension="xlsx"),
    )  # fmt: skip


def _chart(group_id: int, around: dt.date | None, today: dt.date) -> str:
    end = min(today + dt.timedelta(days=1), (around or today) + dt.timedelta(days=45))
    start = end - dt.timedelta(days=120)
    series = meter_series(group_id=group_id, start=start, end=end)
    labels = dict(AnomalyKind.choices)
    cases = AnomalyCase.objects.filter(group_id=group_id).values_list(
        "kind", "condition_since", "raised_on"
    )
    return json.dumps(
        {
            "days": [point.day.isoformat() for point in series],
            "forward": [float(point.forward_total) for point in series],
            "energy": [
                float(point.daily_energy) if point.daily_energy is not None else None
                for point in series
            ],
            "marks": [
                {
                    "kind": kind,
                    "since": since.isoformat(),
                    "raised": raised.isoformat(),
                    "label": str(labels.get(kind, kind)),
                }
                for kind, since, raised in cases
            ],
        }
    )


@login_required
def meter_page(request: HttpRequest, group_id: int) -> HttpResponse:
    try:
        group = group_get(user=_user(request), group_id=group_id)
    except (RecordNotVisible, ActionNotAllowed) as error:
        return _refusal(request, error, 404)
    cases = selectors.visible_cases(user=_user(request)).filter(group=group).order_by("-raised_on")
    return render(
        request,
        "anomalies/meter.html",
        {
            "group": group,
            "chart": _chart(group.pk, None, timezone.localdate()),
            "rows": selectors.case_rows(cases=cases, today=timezone.localdate()),
        },
    )


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, case_id)


def _case_page(
    request: HttpRequest,
    case_id: int,
    *,
    sheet_form: ContactSheetForm | None = None,
    answer_form: ContactSheetAnswerForm | None = None,
) -> HttpResponse:
    """The case; after a refused form, with that form as typed and its errors (400)."""
    try:
        case = selectors.case_get(user=_user(request), case_id=case_id)
    except RecordNotVisible as error:
        return _refusal(request, error, 404)
    row = selectors.case_rows(cases=[case], today=timezone.localdate())[0]
    sheet = getattr(case, "sheet", None)
    refused = sheet_form is not None or answer_form is not None
    return render(
        request,
        "anomalies/case_detail.html",
        {
            "case": row,
            "sheet": sheet,
            "sheet_form": sheet_form or ContactSheetForm(),
            "answer_form": answer_form
            or ContactSheetAnswerForm(initial={"found_on": timezone.localdate()}),
            "chart": _chart(case.group_id, case.condition_since, timezone.localdate()),
            "today": timezone.localdate(),
        },
        status=400 if refused else 200,
    )


@login_required
@require_POST
def sheet_send(request: HttpRequest, case_id: int) -> HttpResponse:
    form = ContactSheetForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case_id, sheet_form=form)
    try:
        sheet = services.contact_sheet_send(
            actor=_user(request), case_id=case_id, request=form.cleaned_data["request"],
            now=timezone.now(),
        )  # fmt: skip
    except services.UnableToHandleCase as error:
        messages.error(request, str(error))  # at the top: the form may not be on the page now
        return _case_page(request, case_id, sheet_form=form)
    except (ActionNotAllowed, RecordNotVisible) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("联系单 %(number)s 已发出。") % {"number": sheet.number})
    return redirect("anomalies:case", case_id=case_id)


@login_required
@require_POST
def sheet_answer(request: HttpRequest, case_id: int) -> HttpResponse:
    form = ContactSheetAnswerForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case_id, answer_form=form)
    try:
        services.contact_sheet_answer(
            actor=_user(request), case_id=case_id, finding=form.cleaned_data["finding"],
            note=form.cleaned_data["note"], found_on=form.cleaned_data["found_on"],
            now=timezone.now(),
        )  # fmt: skip
    except services.UnableToHandleCase as error:
        messages.error(request, str(error))
        return _case_page(request, case_id, answer_form=form)
    except (ActionNotAllowed, RecordNotVisible) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("核查结论已记录，异常已办结。"))
    return redirect("anomalies:case", case_id=case_id)


@login_required
def sheet_print(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        case = selectors.case_get(user=_user(request), case_id=case_id)
    except RecordNotVisible as error:
        return _refusal(request, error, 404)
    sheet = getattr(case, "sheet", None)
    if sheet is None:
        return _refusal(request, RecordNotVisible(_("该异常还没有发出联系单。")), 404)
    row = selectors.case_rows(cases=[case], today=timezone.localdate())[0]
    document = contact_sheet_document(case=case, row=row, sheet=sheet)
    response = HttpResponse(document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = attachment(
        export_name(document.title, sheet.number, extension="pdf")
    )
    return response
