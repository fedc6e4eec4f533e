"""The master-data page: each load's template and export, an upload that is checked first
(a dry run in the background) and a confirmation that loads what was checked."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.common.jobs import job_create
from refmeter.common.models import Job, JobStatus
from refmeter.common.spreadsheets import UnreadableSpreadsheet, check_upload_size
from refmeter.common.tables import attachment
from refmeter.masterdata.selectors import (
    SPECS,
    file_name_of,
    master_export,
    master_template,
    may_load_master_data,
    require_administrator,
)
from refmeter.masterdata.sheet import file_digest
from refmeter.masterdata.tasks import MASTER_LOAD, master_load_task
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, ActionNotAllowed, refusal_message

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = [*SPECS, "nearby_index"]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refusal(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "refusal.html", {"message": message}, status=status)


def _xlsx(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = attachment(name)
    return response


@login_required
def master_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may_load_master_data(user=user):
        return _refusal(request, refusal_message(Action.LOAD_MASTER_DATA), 403)
    jobs = Job.objects.filter(kind=MASTER_LOAD, created_by=user).order_by("-created_at")[:20]
    loads = [{"kind": kind, "title": spec.title, "file": file_name_of(kind)}
             for kind, spec in SPECS.items()]  # fmt: skip
    return render(request, "masterdata/master.html", {"loads": loads, "jobs": jobs})


@login_required
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        return _refusal(request, _("没有这种主数据。"), 404)
    return _xlsx(master_template(kind=kind), f"template-{file_name_of(kind)}")


@login_required
def export_download(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        return _refusal(request, _("没有这种主数据。"), 404)
    try:
        content = master_export(kind=kind, actor=_user(request))
    except ActionNotAllowed as refusal:
        return _refusal(request, str(refusal), 403)
    return _xlsx(content, file_name_of(kind))


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Store the file and check it in the background (a dry run): nothing is loaded until
    the result is confirmed."""
    user = _user(request)
    try:
        require_administrator(user)
    except ActionNotAllowed as refusal:
        return _refusal(request, str(refusal), 403)
    kind = request.POST.get("kind", "")
    if kind not in SPECS:
        return _refusal(request, _("请选择要导入的主数据。"), 400)
    file = request.FILES.get("file")
    if file is None or not file.size:
        return _refusal(request, _("请选择要上传的文件。"), 400)
    name = (file.name or "")[-200:]
    try:
        check_upload_size(file_name=name, size=file.size, csv_allowed=True)
    except UnreadableSpreadsheet as error:
        return _refusal(request, str(error), 400)
    data = file.read()
    now = timezone.now()
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else "xlsx"
    suffix = suffix if suffix in ("xlsx", "xls", "ods", "csv", "txt") else "xlsx"
    path = default_storage.save(f"imports/{now:%Y/%m}/{kind}-{now:%Y%m%d%H%M%S}.{suffix}", file)
    job = job_create(
        kind=MASTER_LOAD,
        created_by=user,
        parameters={"path": path, "file_name": name, "kind": kind, "dry_run": True,
                    "sha256": file_digest(data)},
        now=now,
    )  # fmt: skip
    master_load_task.enqueue(job.pk)
    return redirect("jobs:detail", job_id=job.pk)


@login_required
@require_POST
def confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    """Load the file a finished dry run checked: the server holds the confirmation (the
    checked job of this user, succeeded, not confirmed before), not the page."""
    user = _user(request)
    try:
        require_administrator(user)
    except ActionNotAllowed as refusal:
        return _refusal(request, str(refusal), 403)
    with transaction.atomic():
        checked = (
            Job.objects.select_for_update()
            .filter(pk=job_id, kind=MASTER_LOAD, created_by=user)
            .first()
        )
        if checked is None:
            return _refusal(request, _("未找到该任务。"), 404)
        parameters = dict(checked.parameters)
        if not parameters.get("dry_run") or checked.status != JobStatus.SUCCEEDED:
            return _refusal(request, _("只能确认检查通过的导入。"), 409)
        if parameters.get("confirmed_by_job"):
            return _refusal(request, _("这份文件已经确认导入过了。"), 409)
        job = job_create(
            kind=MASTER_LOAD,
            created_by=user,
            parameters={**parameters, "dry_run": False, "checked_job": checked.pk},
            now=timezone.now(),
        )
        checked.parameters = {**parameters, "confirmed_by_job": job.pk}
        checked.save(update_fields=["parameters"])
    master_load_task.enqueue(job.pk)
    return redirect("jobs:detail", job_id=job.pk)
