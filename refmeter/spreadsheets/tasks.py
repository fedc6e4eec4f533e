"""Background jobs: importing a stock check list runs in a task worker, with progress."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from refmeter.common.jobs import job_begin, job_finish, job_progress, job_upload
from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.spreadsheets.stock import UnableToImportStock, stock_import

STOCK_IMPORT = "stock_import"


@task()
def stock_import_task(job_id: int) -> None:
    job, actor = job_begin(job_id=job_id, now=timezone.now(), message=_("开始导入"))
    data = job_upload(job)

    def progress(done: int, total: int, message: str) -> None:
        job_progress(job_id=job_id, done=done, total=total, message=message)

    try:
        result = stock_import(
            actor=actor,
            data=data,
            now=timezone.now(),
            dry_run=bool(job.parameters.get("dry_run")),
            progress=progress,
        )
    except (UnableToImportStock, UnreadableSpreadsheet) as error:
        problems = getattr(error, "problems", None) or [str(error)]
        job_finish(
            job_id=job_id,
            now=timezone.now(),
            errors=problems,
            message=_("未导入：发现 %(count)d 个问题") % {"count": len(problems)},
        )
        return
    job_finish(job_id=job_id, now=timezone.now(), result=result.as_dict(), message=_("导入完成"))
