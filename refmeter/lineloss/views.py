from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.forms import form_problems
from refmeter.common.listing import Listing, list_params, page_list
from refmeter.common.periods import Period, UnusableMonth, month_parse
from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
from refmeter.common.tables import csv_response, export_name, export_refused, xlsx_response
from refmeter.lineloss.forms import ReportFilterForm
from refmeter.lineloss.selectors import (
    REPORT_SORTS,
    AreaLoss,
    area_history,
    lineloss_report,
    lineloss_report_filter,
)
from refmeter.lineloss.services import UnableToLoadAreaEnergy, area_energy_load
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import TransformerArea


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _period(request: HttpRequest) -> Period:
    """The month asked for; last month when none is, or (with a message why) a bad one."""
    text = request.GET.get("period") or request.POST.get("period") or ""
    if text:
        try:
            return month_parse(text)
        except UnusableMonth as error:
            messages.error(request, str(error))
    last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    return Period.month(last.year, last.month)


def _report(request: HttpRequest, period: Period) -> list[AreaLoss]:
    return lineloss_report(period=period, unit_filter=unit_scope(user=_user(request)))


def _listing(
    request: HttpRequest, rows: list[AreaLoss], *, whole: bool = False
) -> tuple[ReportFilterForm, Listing[AreaLoss], list[str]]:
    """The report filtered, sorted and paged as the query string says (``whole``: every
    page, for the export)."""
    form = ReportFilterForm(request.GET)
    problems: list[str] = []
    if form.is_valid():
        rows = lineloss_report_filter(rows, **form.cleaned_data)
    else:
        problems = form_problems(form)
        rows = []
    params = list_params(request.GET, sort_keys=list(REPORT_SORTS), default_sort="area")
    if whole:
        params = replace(params, page_number=1, page_size=max(len(rows), 1))
    return form, page_list(rows, params, keys=REPORT_SORTS, request_query=request.GET), problems


@login_required
def report(request: HttpRequest) -> HttpResponse:
    period = _period(request)
    upload_problems: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise UnableToLoadAreaEnergy([_("请选择要上传的文件。")])
            result = area_energy_load(
                actor=_user(request), period_start=period.start_date,
                rows=open_sheets(upload)[0].rows, now=timezone.now(),
            )  # fmt: skip
        except UnableToLoadAreaEnergy as error:
            upload_problems = list(error.problems)
        except UnreadableSpreadsheet as error:
            upload_problems = [str(error)]
        else:
            messages.success(
                request,
                _("已导入供售电量：新增 %(created)d 个台区，更新 %(updated)d 个。")
                % {"created": result.created, "updated": result.updated},
            )
            return redirect(f"{request.path}?period={period.start_date:%Y-%m}")
    rows = _report(request, period)
    form, listing, problems = _listing(request, rows)
    return render(
        request,
        "lineloss/report.html",
        {
            "period": f"{period.start_date:%Y-%m}",
            "form": form,
            "listing": listing,
            "problems": problems,
            "upload_problems": upload_problems,
            "rows": listing.rows,
            "count": len(rows),
            "into": sum(1 for row in rows if row.moved == "into_qualified"),
            "out_of": sum(1 for row in rows if row.moved == "out_of_qualified"),
        },
        # a refused file is shown on the page it was sent from, nothing loaded
        status=400 if upload_problems else 200,
    )


def _export_rows(rows: list[AreaLoss]) -> list[list[object]]:
    return [
        [row.area_number, row.area_name, row.point_days, row.virtual, row.supply, row.sales,
         row.loss_before, row.loss_after, row.class_before_label, row.class_after_label]
        for row in rows
    ]  # fmt: skip


HEADER = ["台区编号", "台区名称", "点·天", "虚拟电量", "供电量", "售电量", "计入前线损率%",
          "计入后线损率%", "计入前", "计入后"]  # fmt: skip


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    period = _period(request)
    everything = _report(request, period)
    # The export holds what the page's filters and sort show, every page of it.
    _form, listing, problems = _listing(request, everything, whole=True)
    if problems:
        return export_refused(request, problems)
    rows = _export_rows(listing.rows)
    unit = _user(request).unit
    parts = (_("台区线损"), unit.name if unit else "", f"{period.start_date:%Y-%m}")
    if fmt == "csv":
        return csv_response(header=HEADER, rows=rows, name=export_name(*parts, extension="csv"))
    return xlsx_response(
        title=_("台区虚拟电量"),
        header=HEADER,
        rows=rows,
        name=export_name(*parts, extension="xlsx"),
    )


@login_required
def area_page(request: HttpRequest, area_id: int) -> HttpResponse:
    area = TransformerArea.objects.filter(unit_scope(user=_user(request)), pk=area_id).first()
    if area is None:
        return render(
            request,
            "refusal.html",
            {"message": _("没有这个台区，或它不属于您的单位。")},
            status=404,
        )
    history = area_history(area_id=area.pk, months=12, last=_period(request).start_date)
    return render(request, "lineloss/area.html", {"area": area, "history": json.dumps(history)})
