from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.forms import form_problems
from refmeter.common.listing import list_params
from refmeter.common.pdf import document_pdf
from refmeter.common.tables import attachment, export_name, export_refused, xlsx_response
from refmeter.inspections.documents import route_sheet_document
from refmeter.inspections.forms import InspectionPlanForm, TargetFilterForm
from refmeter.inspections.selectors import (
    TARGET_SORTS,
    photo_get,
    plan_rows,
    plan_target_export,
    plan_target_page,
    route_stops,
)
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
    form = TargetFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    shown = plan_target_page(
        user=_user(request), plan_id=plan_id,
        params=list_params(request.GET, sort_keys=list(TARGET_SORTS), default_sort="account"),
        request_query=request.GET, **filters,
    )  # fmt: skip
    if shown is None:
        return render(request, "refusal.html", {"message": _("未找到该检查计划。")}, status=404)
    return render(
        request,
        "inspections/plan.html",
        {
            "plan": shown.plan,
            "listing": shown.listing,
            "targets": shown.listing.rows,
            "total": shown.targets,
            "done": shown.done,
            "form": form,
            "problems": form_problems(form) if form.is_bound and not form.is_valid() else [],
        },
    )


@login_required
def plans_export(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    rows = (
        [row.period_start, row.period_end, row.unit_name, row.targets, row.done,
         row.targets - row.done, row.findings, _("已逾期") if row.overdue else "", row.seed]
        for row in plan_rows(user=user, today=today)
    )  # fmt: skip
    return xlsx_response(
        title=_("周期检查计划"),
        header=[_("检查期开始"), _("检查期结束"), _("供电单位"), _("抽查点数"), _("已检查"),
                _("待检查"), _("发现问题"), _("逾期"), _("随机种子")],
        rows=rows,
        name=export_name(_("周期检查计划"), user.unit.name if user.unit else "",
                         today.isoformat(), extension="xlsx"),
    )  # fmt: skip


@login_required
def plan_targets_export(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan's points that the page's filters keep, every page of them."""
    form = TargetFilterForm(request.GET)
    if not form.is_valid():
        return export_refused(request, form_problems(form))
    found = plan_target_export(
        user=_user(request), plan_id=plan_id,
        params=list_params(request.GET, sort_keys=list(TARGET_SORTS), default_sort="account"),
        **form.cleaned_data,
    )  # fmt: skip
    if found is None:
        return render(request, "refusal.html", {"message": _("未找到该检查计划。")}, status=404)
    plan, targets = found
    rows = (
        [row["account_number"], row["name"], row["address"], row["customer"], row["area"],
         _("已检查") if row["done"] else _("待检查"), row["finding"], row["recorded_at"],
         row["note"]]
        for row in targets
    )  # fmt: skip
    return xlsx_response(
        title=_("检查计划点位"),
        header=[_("户号"), _("户名"), _("设备地址"), _("客户"), _("台区编号"), _("检查状态"),
                _("检查结果"), _("检查时间"), _("说明")],
        rows=rows,
        name=export_name(_("检查计划点位"), plan.unit.name, f"{plan.period_start:%Y-%m-%d}",
                         plan.pk, extension="xlsx"),
    )  # fmt: skip


@login_required
def plan_route(request: HttpRequest, plan_id: int) -> HttpResponse:
    area = request.GET.get("area", "").strip()[:32]
    plan, stops = route_stops(user=_user(request), plan_id=plan_id, area_number=area)
    if plan is None:
        return render(request, "refusal.html", {"message": _("未找到该检查计划。")}, status=404)
    document = route_sheet_document(plan=plan, stops=stops, area_number=area)
    response = HttpResponse(document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = attachment(
        export_name(document.title, plan.pk, area, extension="pdf")
    )
    return response


def photo(request: HttpRequest, photo_id: int, size: str = "full") -> HttpResponseBase:
    """A finding's photo (or its preview), only to users who may see its point."""
    try:
        found = photo_get(user=_user(request), photo_id=photo_id)
    except (RecordNotVisible, ActionNotAllowed) as refusal:
        return render(request, "refusal.html", {"message": str(refusal)}, status=404)
    if size == "thumb":
        return FileResponse(found.thumbnail.open("rb"), content_type="image/jpeg")
    return FileResponse(found.file.open("rb"), content_type=found.content_type)
