from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from refmeter.common.jobs import job_begin, job_finish, job_progress, job_upload
from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.readings.services import UnableToImportReadings, readings_import, rows_from_file

READINGS_IMPORT = "readings_import"


@task()
def readings_import_task(job_id: int) -> None:
    job, actor = job_begin(job_id=job_id, now=timezone.now(), message=_("开始导入"))
    data = job_upload(job)
    try:
        result = readings_import(
            actor=actor,
            rows=rows_from_file(data, job.parameters["file_name"]),
            file_name=job.parameters["file_name"],
            today=timezone.localdate(),
            now=timezone.now(),
            progress=lambda done, message: job_progress(
                job_id=job_id, done=done, total=0, message=message
            ),
        )
    except (UnableToImportReadings, UnreadableSpreadsheet) as error:
        problems = getattr(error, "problems", None) or [str(error)]
        job_finish(
            job_id=job_id,
            now=timezone.now(),
            errors=problems,
            message=_("未导入：发现 %(count)d 个问题")
            % {"count": getattr(error, "total", len(problems))},
        )
        return
    job_finish(job_id=job_id, now=timezone.now(), result=result.as_dict(), message=_("导入完成"))
