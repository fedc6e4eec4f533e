"""The page of a background job: its progress while it runs, its result or problems after."""

from __future__ import annotations

import logging
import secrets
import sys

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.health import health_check
from refmeter.common.models import Job


def _own_job(request: HttpRequest, job_id: int) -> Job | None:
    jobs = Job.objects.all()
    if not getattr(request.user, "is_superuser", False):
        jobs = jobs.filter(created_by_id=request.user.pk)
    return jobs.filter(pk=job_id).first()


@login_required
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _own_job(request, job_id)
    if job is None:
        return render(request, "refusal.html", {"message": _("未找到该任务。")}, status=404)
    partial = getattr(request, "htmx", False)
    template = "jobs/job_progress.html" if partial else "jobs/job.html"
    return render(request, template, {"job": job})


@login_required
def job_file(request: HttpRequest, job_id: int) -> HttpResponseBase:
    job = _own_job(request, job_id)
    if job is None or not job.result.get("file"):
        return render(request, "refusal.html", {"message": _("未找到该任务的文件。")}, status=404)
    return FileResponse(
        default_storage.open(job.result["file"], "rb"),
        as_attachment=True,
        filename=job.result.get("download_name", "file"),
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """For monitoring, without a login: 200 when the database answers, every migration is
    applied and a task worker was seen within REFMETER_HEALTH_WORKER_MINUTES; else 503."""
    health = health_check(now=timezone.now())
    return JsonResponse(health.as_dict(), status=200 if health.ok else 503)


logger = logging.getLogger("refmeter.incidents")


def incident_id() -> str:
    """Short enough to read out on the phone, random enough not to repeat in a year's log."""
    return secrets.token_hex(4).upper()


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page: a friendly Chinese page with an incident number; the traceback is in the
    log under that number, never on the page."""
    incident = incident_id()
    logger.error(
        "incident %s: %s %s", incident, request.method, request.path, exc_info=sys.exc_info()
    )
    content: str
    try:
        content = loader.render_to_string("500.html", {"incident": incident})
    except Exception:  # the page must never fail itself
        logger.exception("incident %s: the error page could not be rendered", incident)
        content = f"<!doctype html><title>500</title><p data-error-message>系统出错，事件编号 {incident}</p>"
    response = HttpResponse(content, status=500)
    response["X-Incident"] = incident
    return response
