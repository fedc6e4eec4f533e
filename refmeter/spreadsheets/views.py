from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.common.jobs import job_create
from refmeter.common.models import Job
from refmeter.common.spreadsheets import UnreadableSpreadsheet, check_upload_size
from refmeter.common.tables import attachment, export_name
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, refusal_message
from refmeter.organisations.selectors import user_may
from refmeter.spreadsheets.stock import stock_export
from refmeter.spreadsheets.tasks import STOCK_IMPORT, stock_import_task

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
def stock_page(request: HttpRequest) -> HttpResponse:
    jobs = Job.objects.filter(kind=STOCK_IMPORT, created_by=_user(request)).order_by("-created_at")[
        :10
    ]
    return render(
        request,
        "spreadsheets/stock.html",
        {"jobs": jobs, "may_import": user_may(user=request.user, action=Action.IMPORT_STOCK)},
    )


@login_required
def stock_download(request: HttpRequest) -> HttpResponse:
    content = stock_export(actor=_user(request), as_of=timezone.localdate())
    response = HttpResponse(content, content_type=XLSX)
    unit = _user(request).unit
    response["Content-Disposition"] = attachment(
        export_name(_("存量基准户核查清单"), unit.name if unit else "",
                    timezone.localdate().isoformat(), extension="xlsx"),
    )  # fmt: skip
    return response


@login_required
@require_POST
def stock_upload(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user_may(user=user, action=Action.IMPORT_STOCK):
        return render(
            request, "refusal.html", {"message": refusal_message(Action.IMPORT_STOCK)}, status=403
        )
    upload = request.FILES.get("file")
    if upload is None or not upload.size:
        return render(request, "refusal.html", {"message": _("请选择要上传的文件。")}, status=400)
    try:
        check_upload_size(file_name=upload.name or "", size=upload.size)
    except UnreadableSpreadsheet as error:
        return render(request, "refusal.html", {"message": str(error)}, status=400)
    now = timezone.now()
    path = default_storage.save(f"imports/{now:%Y/%m}/stock-{now:%Y%m%d%H%M%S}.xlsx", upload)
    job = job_create(
        kind=STOCK_IMPORT,
        created_by=user,
        parameters={
            "path": path,
            "file_name": upload.name,
            "dry_run": bool(request.POST.get("dry_run")),
        },
        now=now,
    )
    stock_import_task.enqueue(job.pk)
    return redirect("jobs:detail", job_id=job.pk)
