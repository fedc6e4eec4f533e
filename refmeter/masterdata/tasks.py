"""Background jobs: a master-data load (a dry run first, then the confirmed load) runs in a
task worker, with progress on the job's page."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task

from refmeter.common.jobs import job_run, job_task, job_upload
from refmeter.common.spreadsheets import UnreadableSpreadsheet
from refmeter.masterdata.services import UnableToLoadMasterData, load_file
from refmeter.masterdata.sheet import file_digest

MASTER_LOAD = "master_load"


@job_task
@task(takes_context=True)
def master_load_task(context: TaskContext, job_id: int) -> None:
    # The load checks the whole file before its one writing transaction and matches rows
    # by their codes: run again after a crash, it finds what it wrote unchanged.
    with job_run(
        job_id=job_id,
        task_result_id=str(context.task_result.id),
        clock=timezone.now,
        message=_("开始导入"),
    ) as run:
        parameters = run.job.parameters
        data = job_upload(run.job)
        if file_digest(data) != parameters["sha256"]:
            run.fail(now=timezone.now(), errors=[_("上传的文件已变动，未导入：请重新上传。")])
            return

        def progress(done: int, total: int, message: str) -> None:
            run.progress(done=done, total=total, message=message)

        try:
            result = load_file(
                kind=parameters["kind"],
                actor=run.user,
                data=data,
                file_name=parameters["file_name"],
                now=timezone.now(),
                dry_run=bool(parameters.get("dry_run")),
                progress=progress,
            )
        except (UnableToLoadMasterData, UnreadableSpreadsheet) as error:
            problems = getattr(error, "problems", None) or [str(error)]
            run.fail(
                now=timezone.now(),
                errors=problems,
                message=_("未导入：发现 %(count)d 个问题") % {"count": len(problems)},
            )
            return
        run.finish(
            now=timezone.now(),
            result={"masterdata": result.as_dict()},
            message=_("检查完成，等待确认") if result.dry_run else _("导入完成"),
        )
