from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.jobs import job_create
from refmeter.common.models import Job
from refmeter.common.spreadsheets import UnreadableSpreadsheet, check_upload_size
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.readings.tasks import READINGS_IMPORT, readings_import_task


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    require(user=user, action=Action.IMPORT_READINGS)  # refused: a 403 page that says who may
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or not upload.size:
            return render(
                request, "refusal.html", {"message": _("请选择要上传的文件。")}, status=400
            )
        try:
            check_upload_size(file_name=upload.name or "", size=upload.size, csv_allowed=True)
        except UnreadableSpreadsheet as error:
            return render(request, "refusal.html", {"message": str(error)}, status=400)
        now = timezone.now()
        path = default_storage.save(
            f"imports/{now:%Y/%m}/readings-{now:%Y%m%d%H%M%S}-{upload.name}", upload
        )
        job = job_create(
            kind=READINGS_IMPORT,
            created_by=user,
            parameters={"path": path, "file_name": upload.name or "readings.csv"},
            now=now,
        )
        readings_import_task.enqueue(job.pk)
        return redirect("jobs:detail", job_id=job.pk)
    jobs = Job.objects.filter(kind=READINGS_IMPORT, created_by=user).order_by("-created_at")[:10]
    return render(request, "readings/import.html", {"jobs": jobs})
