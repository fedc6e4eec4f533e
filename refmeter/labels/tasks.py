"""Label printing as a background job: draw the labels' PDF, then issue them.

The labels are prepared (serials reserved, tokens signed) and drawn before anything is
issued; the new labels are issued and the points' earlier labels voided in the one
transaction that records the stored PDF as the job's result. A worker that dies while
drawing leaves nothing voided; a job run twice, or retried after a crash, issues once.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task

from refmeter.common.jobs import job_run, job_task
from refmeter.labels.layouts import Layout, UnknownLayout, layout_get
from refmeter.labels.pdf import LabelPrint, labels_pdf
from refmeter.labels.selectors import (
    LabelTarget,
    targets_for_group,
    targets_for_order,
    targets_for_points,
)
from refmeter.labels.services import (
    PreparedLabels,
    UnableToIssueLabels,
    labels_commit,
    labels_prepare,
)
from refmeter.organisations.models import User
from refmeter.registry.selectors import RecordNotVisible

LABEL_PRINT = "label_print"


def label_targets(*, user: User, source: str, ids: list[int]) -> list[LabelTarget]:
    if source == "group":
        return targets_for_group(user=user, group_id=ids[0])
    if source == "order":
        return targets_for_order(user=user, order_id=ids[0])
    return targets_for_points(user=user, point_ids=ids)


def _prints(prepared: PreparedLabels, progress: Callable[[int], None]) -> Iterator[LabelPrint]:
    """The labels to draw, reporting how many are drawn about twenty times per job (at
    most every 100 labels). Tests slow the drawing down with
    ``REFMETER_TEST_LABEL_DELAY_SECONDS`` to stop a worker in the middle of a job."""
    delay = float(getattr(settings, "REFMETER_TEST_LABEL_DELAY_SECONDS", 0))
    step = max(1, min(100, len(prepared.labels) // 20))
    for index, label in enumerate(prepared.labels):
        if index and index % step == 0:
            progress(index)
        if delay:
            time.sleep(delay)
        yield LabelPrint(
            url=label.url,
            account_number=label.account_number,
            name=label.name,
            short_address=label.short_address,
            serial=label.serial,
        )


def _draw(
    *, prepared: PreparedLabels, layout: Layout, title: str, path: Path,
    progress: Callable[[int], None],
) -> int:  # fmt: skip
    with path.open("wb") as out:
        count = labels_pdf(
            _prints(prepared, progress), layout=layout, out=out, title=title,
            progress=lambda done: None,
        )  # fmt: skip
    progress(count)
    return count


def print_labels_to_file(
    *, user: User | None, targets: list[LabelTarget], layout_name: str, batch: str, path: Path,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Draw the labels into ``path``, then issue them (voiding the points' earlier labels).
    If the drawing or the issuing fails, nothing is issued or voided and no file is left."""
    layout = layout_get(layout_name)
    prepared = labels_prepare(actor=user, targets=targets, now=timezone.now())
    try:
        count = _draw(prepared=prepared, layout=layout, title=batch, path=path,
                      progress=progress or (lambda done: None))  # fmt: skip
        labels_commit(actor=user, prepared=prepared, batch=batch, now=timezone.now())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return count


def _pdf_name(job_id: int, attempt: int, folder: str) -> str:
    return f"labels/{folder}/labels-job{job_id}-{attempt}.pdf"


@job_task
@task(takes_context=True)
def label_print_task(context: TaskContext, job_id: int) -> None:
    with job_run(
        job_id=job_id,
        task_result_id=str(context.task_result.id),
        clock=timezone.now,
        message=_("签发标签"),
    ) as run:
        parameters = run.job.parameters
        folder = f"{run.job.created_at:%Y/%m}"
        try:
            layout = layout_get(parameters["layout"])
            targets = label_targets(user=run.user, source=parameters["source"],
                                    ids=parameters["ids"])  # fmt: skip
            total = len(targets)
            prepared = labels_prepare(actor=run.user, targets=targets, now=timezone.now())
            with tempfile.TemporaryDirectory() as temporary:
                path = Path(temporary) / "labels.pdf"
                count = _draw(
                    prepared=prepared, layout=layout, title=parameters.get("batch", ""),
                    path=path,
                    progress=lambda done: run.progress(done=done, total=total,
                                                       message=_("生成 PDF")),
                )  # fmt: skip
                run.progress(done=count, total=total, message=_("保存 PDF 并签发标签"))
                # Files of earlier attempts that died before their labels were issued.
                for earlier in range(1, run.attempt):
                    default_storage.delete(_pdf_name(job_id, earlier, folder))
                with path.open("rb") as stored:
                    name = default_storage.save(
                        _pdf_name(job_id, run.attempt, folder), File(stored)
                    )
            try:
                now = timezone.now()
                with transaction.atomic():
                    run.succeed(
                        now=now,
                        result={"file": name, "labels": count, "download_name": "labels.pdf"},
                        message=_("已生成 %(count)d 张标签") % {"count": count},
                    )
                    labels_commit(actor=run.user, prepared=prepared,
                                  batch=parameters.get("batch", ""), now=now)  # fmt: skip
            except BaseException:
                default_storage.delete(name)
                raise
        except (RecordNotVisible, UnableToIssueLabels, UnknownLayout) as error:
            run.fail(now=timezone.now(), errors=[str(error)], message=str(error))
