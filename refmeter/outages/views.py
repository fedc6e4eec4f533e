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
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.outages.documents import outage_letters_document
from refmeter.outages.forms import NoticeTemplateForm, OutageForm
from refmeter.outages.models import Outage
from refmeter.outages.selectors import (
    affected_points,
    notice_drafts,
    notice_rows,
    notice_shortfall,
    notice_template_current,
    notice_template_versions,
    notices_to_resend,
    outage_rows,
    outages_visible,
    point_notice_statuses,
    send_progress,
)
from refmeter.outages.services import (
    UnableToEditNoticeTemplate,
    UnableToPlanOutage,
    UnableToSendNotices,
    notice_template_update,
    outage_create,
)
from refmeter.outages.tasks import notices_resend_start, outage_send_start
from refmeter.outages.texts import PLACEHOLDERS


def _confirmed(request: HttpRequest) -> bool:
    """Whether the confirmation box was ticked (its value, not just any text)."""
    return request.POST.get("confirm", "").strip().lower() in ("1", "on", "yes", "true")


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
    return render(
        request,
        "outages/list.html",
        {"form": form, "outages": outage_rows(outages=outages_visible(user=user)[:100])},
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
    points = affected_points(outage=outage)
    return render(
        request,
        "outages/detail.html",
        {
            "outage": outage,
            "points": [(point, statuses.get(point.point_id, "")) for point in points],
            "shortfall_hours": int(shortfall.total_seconds() // 3600) if shortfall else None,
            "progress": send_progress(outage=outage, now=now),
            "notices": notice_rows(outage=outage),
            "preview": notice_drafts(
                outage=outage, template=notice_template_current(), points=points
            ),
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
        job = outage_send_start(
            actor=_user(request), outage_id=outage_id, now=timezone.now(),
            confirmed=_confirmed(request),
            preview=request.POST.get("preview", "")[:64],
        )  # fmt: skip
    except UnableToSendNotices as refusal:
        if _outage(request, outage_id) is None:
            return render(request, "refusal.html", {"message": str(refusal)}, status=404)
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("已提交发送任务 #%(job)d，进度见下方。") % {"job": job.pk})
    return redirect("outages:detail", outage_id=outage_id)


def _picked(values: list[str]) -> list[int]:
    return [
        int(value) for value in values if value.isascii() and value.isdigit() and len(value) < 19
    ]


@login_required
def outage_resend(request: HttpRequest, outage_id: int) -> HttpResponse:
    """The confirmation step of a resend (GET: the notices it would send again, with their
    text), and the resend itself (POST with ``confirm``). Without the confirmation nothing
    is sent and the step is shown again, saying why."""
    outage = _outage(request, outage_id)
    if outage is None:
        return _not_found(request)
    picked = _picked(request.POST.getlist("notice") if request.method == "POST" else
                     request.GET.getlist("notice"))  # fmt: skip
    problem = ""
    if request.method == "POST":
        try:
            resend = notices_resend_start(
                actor=_user(request), outage_id=outage_id, now=timezone.now(),
                confirmed=_confirmed(request), notice_ids=picked,
            )  # fmt: skip
        except ActionNotAllowed as refusal:
            return render(request, "refusal.html", {"message": str(refusal)}, status=403)
        except UnableToSendNotices as refusal:
            problem = str(refusal)
        else:
            messages.success(
                request,
                _("已重新提交 %(count)d 条通知，将由后台任务发送。") % {"count": resend.notices},
            )
            return redirect("outages:detail", outage_id=outage_id)
    rows = notice_rows(outage=outage, notices=notices_to_resend(outage=outage, notice_ids=picked))
    return render(
        request,
        "outages/resend.html",
        {"outage": outage, "rows": rows, "picked": picked, "problem": problem},
        status=400 if problem else 200,
    )


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


@login_required
def outage_notices_export(request: HttpRequest, outage_id: int) -> HttpResponse:
    """Every notice of an outage with the exact text sent, its template version, status,
    attempts and times."""
    outage = _outage(request, outage_id)
    if outage is None:
        return _not_found(request)
    header = [_("短信号码"), _("客户"), _("覆盖用电点数"), _("覆盖户号"), _("短信内容"),
              _("模板版本"), _("状态"), _("发送次数"), _("生成时间"), _("发出时间"), _("回执"),
              _("人工重发人"), _("人工重发时间")]  # fmt: skip
    rows = (
        [n.phone, n.customer_name, len(n.accounts), "、".join(n.accounts), n.message,
         n.template_version, n.status_label, n.attempts, n.created_at, n.sent_at, n.detail,
         n.resent_by, n.resent_at]
        for n in notice_rows(outage=outage)
    )  # fmt: skip
    starts = timezone.localtime(outage.starts_at)
    return xlsx_response(
        title=_("停电通知记录"),
        header=header,
        rows=rows,
        name=export_name(_("停电通知记录"), f"{starts:%Y-%m-%d}", outage.pk, extension="xlsx"),
    )


@login_required
def outage_list_export(request: HttpRequest) -> HttpResponse:
    """Every outage the user's units may see (the list page shows the latest 100)."""
    user = _user(request)
    header = [_("停电开始"), _("停电结束"), _("类型"), _("停电原因"), _("供电单位"),
              _("受影响台区"), _("受影响接入点"), _("通知条数"), _("已送达条数"), _("登记人"),
              _("登记时间")]  # fmt: skip
    rows = (
        [row.starts_at, row.ends_at, row.kind_label, row.reason, row.unit_name, row.areas,
         row.access_points, row.notices, row.delivered, row.created_by, row.created_at]
        for row in outage_rows(outages=outages_visible(user=user))
    )  # fmt: skip
    return xlsx_response(
        title=_("停电计划"),
        header=header,
        rows=rows,
        name=export_name(
            _("停电计划"), user.unit.name if user.unit else "", timezone.localdate().isoformat(),
            extension="xlsx",
        ),
    )  # fmt: skip


@login_required
def notice_template(request: HttpRequest) -> HttpResponse:
    """The SMS template, its placeholders and every earlier version; administrators save an
    edit as the next version."""
    user = _user(request)
    try:
        versions = notice_template_versions(user=user)
    except ActionNotAllowed as refusal:
        return render(request, "refusal.html", {"message": str(refusal)}, status=403)
    current = versions[0]
    form = NoticeTemplateForm(
        request.POST if request.method == "POST" else None,
        initial={"text": current.text, "based_on": current.version},
    )
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = notice_template_update(
                    actor=user, text=data["text"], note=data["note"],
                    based_on=data["based_on"], now=timezone.now(),
                )  # fmt: skip
            except ActionNotAllowed as refusal:
                return render(request, "refusal.html", {"message": str(refusal)}, status=403)
            except UnableToEditNoticeTemplate as refusal:
                add_problems(form, refusal.problems)
            else:
                messages.success(
                    request,
                    _("已保存为第 %(version)d 版；此后生成的通知使用新版本，已生成的通知不变。")
                    % {"version": saved.version},
                )
                return redirect("outages:template")
    return render(
        request,
        "outages/template.html",
        {
            "form": form,
            "current": current,
            "versions": versions,
            "placeholders": [(name, str(label)) for name, label in PLACEHOLDERS.items()],
        },
        status=status,
    )
