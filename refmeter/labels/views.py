from __future__ import annotations

import datetime as dt
import functools
import math
from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from refmeter.common.after_response import after_response
from refmeter.common.jobs import job_create
from refmeter.inspections.forms import InspectionResultForm
from refmeter.inspections.models import Finding
from refmeter.inspections.photos import photo_limits
from refmeter.inspections.selectors import point_inspections
from refmeter.inspections.services import (
    UnableToRecordInspection,
    inspection_result_record,
    may_inspect,
)
from refmeter.labels.layouts import DEFAULT_LAYOUT, UnknownLayout, layout_get, layout_names
from refmeter.labels.selectors import ScanView, label_check, labels_in_force_count, scan_view
from refmeter.labels.services import scan_log_anonymous, scan_record
from refmeter.labels.tasks import LABEL_PRINT, label_print_task, label_targets
from refmeter.organisations.models import User
from refmeter.organisations.network import client_address
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.services import TooManyRequests, request_admit
from refmeter.registry.selectors import RecordNotVisible
from refmeter.workorders.selectors import OrderNotVisible

SOURCES = {"group": _lazy("群组"), "order": _lazy("工单"), "points": _lazy("选定的用电点")}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _ids(request: HttpRequest) -> list[int]:
    """The record ids asked for; none if any is not one (a number a database key can hold)."""
    raw = request.POST.getlist("id") if request.method == "POST" else request.GET.getlist("id")
    try:
        ids = [int(value) for value in raw]
    except ValueError:
        return []
    return ids if all(0 < number < 2**63 for number in ids) else []


@login_required
def print_labels(request: HttpRequest) -> HttpResponse:
    """Choose a layout for the labels of a group, a work order or some points; print as a job."""
    source = (request.POST if request.method == "POST" else request.GET).get("source", "group")
    ids = _ids(request)
    if source not in SOURCES or not ids:
        return render(
            request, "refusal.html", {"message": _("请指定要打印标签的对象。")}, status=400
        )
    user = _user(request)
    try:
        targets = label_targets(user=user, source=source, ids=ids)
    except (RecordNotVisible, OrderNotVisible) as refusal:
        return render(request, "refusal.html", {"message": str(refusal)}, status=404)
    error = ""
    in_force = labels_in_force_count(targets=targets)
    if request.method == "POST":
        layout = request.POST.get("layout", DEFAULT_LAYOUT)
        try:
            layout_get(layout)
        except UnknownLayout as unknown:
            error = str(unknown)
        else:
            # A reprint voids the labels on site: the server asks for the tick, not only the page.
            if in_force and request.POST.get("confirm_void") != "on":
                error = _("打印将作废 %(count)d 张在用的标签，请勾选确认后再打印。") % {
                    "count": in_force
                }
        if not error:
            job = job_create(
                kind=LABEL_PRINT,
                created_by=user,
                parameters={
                    "source": source,
                    "ids": ids,
                    "layout": layout,
                    "batch": f"{source}:{','.join(map(str, ids))}"[:64],
                    "file_name": _("%(count)d 张标签") % {"count": len(targets)},
                },
                now=timezone.now(),
            )
            label_print_task.enqueue(job.pk)
            return redirect("jobs:detail", job_id=job.pk)
    return render(
        request,
        "labels/print.html",
        {
            "source": source,
            "source_label": SOURCES[source],
            "ids": ids,
            "targets": targets[:20],
            "count": len(targets),
            "layouts": layout_names(),
            "default_layout": DEFAULT_LAYOUT,
            "error": error,
            "in_force": in_force,
        },
        status=400 if error else 200,
    )


ANONYMOUS_SCANS = "anonymous_scan"


def scan(request: HttpRequest, token: str) -> HttpResponse:
    """The page a phone opens from the QR code. No login needed; personal data only for staff.

    Anonymous scans are limited per client address (REFMETER_SCAN_RATE_LIMIT per
    REFMETER_SCAN_RATE_WINDOW_SECONDS) and logged sparingly (see scan_log_anonymous),
    after the answer is sent.
    """
    user = request.user
    now = timezone.now()
    address = client_address(request) or None
    if not user.is_authenticated:
        try:
            request_admit(
                scope=ANONYMOUS_SCANS,
                client=address or "",
                limit=settings.REFMETER_SCAN_RATE_LIMIT,
                window=dt.timedelta(seconds=settings.REFMETER_SCAN_RATE_WINDOW_SECONDS),
                now=now,
            )
        except TooManyRequests as refusal:
            response = render(
                request,
                "refusal.html",
                {
                    "message": _("扫码过于频繁，请 %(minutes)d 分钟后再试。")
                    % {"minutes": math.ceil(refusal.retry_after / 60)}
                },
                status=429,
            )
            response["Retry-After"] = str(refusal.retry_after)
            return response
        check = label_check(token)
        # The log does not change the answer: it is written once the answer is sent.
        after_response(
            request,
            functools.partial(scan_log_anonymous, check=check, remote_address=address, now=now),
        )
    else:
        check = scan_record(token=token, user=user, now=now, remote_address=address)
    view = scan_view(check=check, user=user, today=timezone.localdate())
    status = 200 if view.valid else 410 if check.result == "voided" else 404
    return _scan_page(request, token, view, status=status)


def _scan_page(
    request: HttpRequest,
    token: str,
    view: ScanView,
    *,
    status: int,
    form: InspectionResultForm | None = None,
) -> HttpResponse:
    user = request.user
    inspector = bool(user.is_authenticated and may_inspect(user=_user(request)) and view.full_view)
    return render(
        request,
        "labels/scan.html",
        {
            "view": view,
            "token": token,
            "may_inspect": inspector,
            "findings": Finding.choices,
            # the inspection form only for those it is shown to (every phone opens this page)
            "photo_limits": photo_limits() if inspector else None,
            "form": form
            or (InspectionResultForm(initial={"found_count": 0}) if inspector else None),
            "inspections": point_inspections(point_id=view.point_id)
            if inspector and view.point_id
            else [],
        },
        status=status,
    )


@login_required
@require_POST
def scan_inspection(request: HttpRequest, token: str) -> HttpResponse:
    from django.contrib import messages

    check = label_check(token)
    view = scan_view(check=check, user=request.user, today=timezone.localdate())
    if not view.valid or view.point_id is None:
        return render(request, "refusal.html", {"message": view.reason}, status=404)
    form = InspectionResultForm(request.POST)
    if not form.is_valid():  # shown again as typed, each error beside its field
        return _scan_page(request, token, view, status=400, form=form)
    try:
        inspection_result_record(
            actor=_user(request),
            point_id=view.point_id,
            finding=form.cleaned_data["finding"],
            note=form.cleaned_data["note"],
            now=timezone.now(),
            label_serial=view.serial,
            found_location=form.cleaned_data["found_location"],
            found_count=form.cleaned_data["found_count"] or 0,
            photos=list(request.FILES.getlist("photos")),
            latitude=form.cleaned_data["latitude"],
            longitude=form.cleaned_data["longitude"],
        )
    except UnableToRecordInspection as error:
        messages.error(request, str(error))
        return _scan_page(request, token, view, status=400, form=form)
    except (ActionNotAllowed, RecordNotVisible) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("检查结果已记录。"))
    return redirect("labels:scan", token=token)
