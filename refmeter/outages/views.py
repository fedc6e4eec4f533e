from __future__ import annotations

import datetime as dt
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.common.forms import add_problems
from refmeter.common.pdf import document_pdf
from refmeter.common.tables import attachment, export_name, xlsx_response
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.outages.documents import outage_letters_document
from refmeter.outages.forms import OutageForm
from refmeter.outages.models import Outage
from refmeter.outages.selectors import (
    affected_points,
    notice_rows,
    notice_shortfall,
    point_notice_statuses,
    send_progress,
)
from refmeter.outages.services import UnableToPlanOutage, UnableToSendNotices, outage_create
from refmeter.outages.tasks import notices_resend_start, outage_send_start


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _moment(text: str) -> dt.datetime | None:
    try:
        return timezone.make_aware(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


@login_required
def outage_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    units = units_visible_to(user=user)
    form = OutageForm(
        request.POST if request.method == "POST" else None,
        units=[(unit.pk, unit.name) for unit in units],
        initial={"unit": user.unit_id},
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            outage = outage_create(
                actor=user, unit=units.get(pk=data["unit"]), kind=data["kind"],
                starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"],
                area_numbers=form.numbers(data["areas"]),
                access_point_numbers=form.numbers(data["access_points"]),
                now=timezone.now(),
            )  # fmt: skip
        except UnableToPlanOutage as error:
            add_problems(form, error.problems)
        else:
            return redirect("outages:detail", outage_id=outage.pk)
    outages = Outage.objects.filter(unit_scope(user=user)).order_by("-starts_at")[:100]
    return render(
        request,
        "outages/list.html",
        {"form": form, "outages": outages},
        status=400 if form.is_bound else 200,
    )


def _outage(request: HttpRequest, outage_id: int) -> Outage | None:
    return Outage.objects.filter(unit_scope(user=_user(request)), pk=outage_id).first()


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "refusal.html", {"message": _("未找到该停电计划。")}, status=404)


@login_required
def outage_detail(request: HttpRequest, outage_id: int) -> HttpResponse:
    outage = _outage(request, outage_id)
    if outage is None:
        return _not_found(request)
    now = timezone.now()
    shortfall = notice_shortfall(outage=outage, now=now)
    statuses = point_notice_statuses(outage=outage)
    return render(
        request,
        "outages/detail.html",
        {
            "outage": outage,
            "points": [
                (point, statuses.get(point.point_id, ""))
                for point in affected_points(outage=outage)
            ],
            "shortfall_hours": int(shortfall.total_seconds() // 3600) if shortfall else None,
            "progress": send_progress(outage=outage, now=now),
            "notices": notice_rows(outage=outage),
        },
    )


@login_required
def outage_progress(request: HttpRequest, outage_id: int) -> HttpResponse:
    outage = _outage(request, outage_id)
    if outage is None:
        return _not_found(request)
    progress = send_progress(outage=outage, now=timezone.now())
    response = render(request, "outages/progress.html", {"outage": outage, "progress": progress})
    if getattr(request, "htmx", False) and not progress.active:
        response["HX-Refresh"] = "true"  # the job ended: reload the page with its notices
    return response


@login_required
@require_POST
def outage_send(request: HttpRequest, outage_id: int) -> HttpResponse:
    try:
        job = outage_send_start(actor=_user(request), outage_id=outage_id, now=timezone.now())
    except UnableToSendNotices as refusal:
        if _outage(request, outage_id) is None:
            return render(request, "refusal.html", {"message": str(refusal)}, status=404)
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("已提交发送任务 #%(job)d，进度见下方。") % {"job": job.pk})
    return redirect("outages:detail", outage_id=outage_id)


@login_required
@require_POST
def outage_resend(request: HttpRequest, outage_id: int) -> HttpResponse:
    picked = [int(value) for value in request.POST.getlist("notice") if value.isdigit()]
    try:
        resend = notices_resend_start(
            actor=_user(request), outage_id=outage_id, now=timezone.now(), notice_ids=picked
        )
    except UnableToSendNotices as refusal:
        if _outage(request, outage_id) is None:
            return render(request, "refusal.html", {"message": str(refusal)}, status=404)
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            _("已重新提交 %(count)d 条通知，将由后台任务发送。") % {"count": resend.notices},
        )
    return redirect("outages:detail", outage_id=outage_id)


@login_required
def outage_export(request: HttpRequest, outage_id: int) -> HttpResponse:
    outage = _outage(request, outage_id)
    if outage is None:
        return render(request, "refusal.html", {"message": _("未找到该停电计划。")}, status=404)
    header = [_("户号"), _("户名"), _("设备地址"), _("台区编号"), _("接入点编号"), _("客户"),
              _("停电联系人"), _("联系人电话"), _("短信号码")]  # fmt: skip
    rows = (
        [p.account_number, p.name, p.device_address, p.area_number, p.access_point_number,
         p.customer_name, p.contact_name, p.contact_phone, p.sms_number]
        for p in affected_points(outage=outage)
    )  # fmt: skip
    starts = timezone.localtime(outage.starts_at)
    return xlsx_response(
        title=_("停电影响清单"),
        header=header,
        rows=rows,
        name=export_name(_("停电影响清单"), f"{starts:%Y-%m-%d}", outage.pk, extension="xlsx"),
    )


@login_required
def outage_letters(request: HttpRequest, outage_id: int) -> HttpResponse:
    outage = _outage(request, outage_id)
    if outage is None:
        return render(request, "refusal.html", {"message": _("未找到该停电计划。")}, status=404)
    customer = request.GET.get("customer", "")
    document = outage_letters_document(
        outage=outage,
        points=affected_points(outage=outage),
        customer_id=int(customer) if customer.isdigit() and len(customer) < 19 else None,
    )
    starts = timezone.localtime(outage.starts_at)
    response = HttpResponse(document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = attachment(
        export_name(document.title, f"{starts:%Y-%m-%d}", outage.pk, extension="pdf")
    )
    return response
