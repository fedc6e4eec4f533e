from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task

from refmeter.common.jobs import job_run, job_task
from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.common.uploads import upload_discard, upload_open
from refmeter.readings.services import UnableToImportReadings, readings_import_file

READINGS_IMPORT = "readings_import"


@job_task
@task(takes_context=True)
def readings_import_task(context: TaskContext, job_id: int) -> None:
    with job_run(
        job_id=job_id,
        task_result_id=str(context.task_result.id),
        clock=timezone.now,
        message=_("开始导入"),
    ) as run:
        path = run.job.parameters["path"]
        try:
            # The readings and the job's success commit together: a retry after a crash
            # finds the job either not done (and imports) or done (and is refused).
            # The upload is read a line (or a sheet row) at a time, never whole.
            with upload_open(path) as data, transaction.atomic():
                result = readings_import_file(
                    actor=run.user,
                    data=data,
                    file_name=run.job.parameters["file_name"],
                    today=timezone.localdate(),
                    now=timezone.now(),
                    progress=lambda done, message: run.progress(
                        done=done, total=0, message=message
                    ),
                )
                run.succeed(now=timezone.now(), result=result.as_dict(), message=_("导入完成"))
        except (UnableToImportReadings, UnreadableSpreadsheet) as error:
            upload_discard(path)  # a refused upload is not kept
            problems = getattr(error, "problems", None) or [str(error)]
            run.fail(
                now=timezone.now(),
                errors=problems,
                message=_("未导入：发现 %(count)d 个问题")
                % {"count": getattr(error, "total", len(problems))},
            )
