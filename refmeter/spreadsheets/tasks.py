"""Background jobs: importing a stock check list runs in a task worker, with progress."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task

from refmeter.common.jobs import job_run, job_task, job_upload
from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.common.uploads import upload_discard
from refmeter.spreadsheets.stock import UnableToImportStock, stock_import

STOCK_IMPORT = "stock_import"


@job_task
@task(takes_context=True)
def stock_import_task(context: TaskContext, job_id: int) -> None:
    # The import checks the whole file before its one writing transaction, and applies
    # rows by account number: run again after a crash, it finds its rows unchanged.
    with job_run(
        job_id=job_id,
        task_result_id=str(context.task_result.id),
        clock=timezone.now,
        message=_("开始导入"),
    ) as run:
        data = job_upload(run.job)

        def progress(done: int, total: int, message: str) -> None:
            run.progress(done=done, total=total, message=message)

        try:
            result = stock_import(
                actor=run.user,
                data=data,
                now=timezone.now(),
                dry_run=bool(run.job.parameters.get("dry_run")),
                progress=progress,
            )
        except (UnableToImportStock, UnreadableSpreadsheet) as error:
            upload_discard(run.job.parameters["path"])  # a refused upload is not kept
            problems = getattr(error, "problems", None) or [str(error)]
            run.fail(
                now=timezone.now(),
                errors=problems,
                message=_("未导入：发现 %(count)d 个问题") % {"count": len(problems)},
            )
            return
        run.finish(now=timezone.now(), result=result.as_dict(), message=_("导入完成"))
