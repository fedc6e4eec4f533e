"""Label printing as a background job: issue the labels, draw the PDF into storage."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from refmeter.common.jobs import job_begin, job_finish, job_progress
from refmeter.labels.layouts import UnknownLayout, layout_get
from refmeter.labels.pdf import LabelPrint, labels_pdf
from refmeter.labels.selectors import (
    LabelTarget,
    targets_for_group,
    targets_for_order,
    targets_for_points,
)
from refmeter.labels.services import UnableToIssueLabels, labels_issue
from refmeter.organisations.models import User
from refmeter.registry.selectors import RecordNotVisible

LABEL_PRINT = "label_print"


def label_targets(*, user: User, source: str, ids: list[int]) -> list[LabelTarget]:
    if source == "group":
        return targets_for_group(user=user, group_id=ids[0])
    if source == "order":
        return targets_for_order(user=user, order_id=ids[0])
    return targets_for_points(user=user, point_ids=ids)


def print_labels_to_file(
    *, user: User | None, targets: list[LabelTarget], layout_name: str, batch: str, path: Path,
    progress: object = None,
) -> int:  # fmt: skip
    layout = layout_get(layout_name)
    issued = labels_issue(actor=user, targets=targets, batch=batch, now=timezone.now())
    with path.open("wb") as out:
        return labels_pdf(
            (
                LabelPrint(
                    url=label.url,
                    account_number=label.account_number,
                    name=label.name,
                    short_address=label.short_address,
                    serial=label.serial,
                )
                for label in issued
            ),
            layout=layout,
            out=out,
            title=batch,
            progress=progress or (lambda done: None),  # type: ignore[arg-type]
        )


@task()
def label_print_task(job_id: int) -> None:
    job, user = job_begin(job_id=job_id, now=timezone.now(), message=_("签发标签"))
    parameters = job.parameters
    try:
        targets = label_targets(user=user, source=parameters["source"], ids=parameters["ids"])
        total = len(targets)

        def progress(done: int) -> None:
            job_progress(job_id=job_id, done=done, total=total, message=_("生成 PDF"))

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "labels.pdf"
            count = print_labels_to_file(
                user=user,
                targets=targets,
                layout_name=parameters["layout"],
                batch=parameters.get("batch", ""),
                path=path,
                progress=progress,
            )
            with path.open("rb") as stored:
                name = default_storage.save(
                    f"labels/{timezone.now():%Y/%m}/labels-job{job_id}.pdf", File(stored)
                )
    except (RecordNotVisible, UnableToIssueLabels, UnknownLayout) as error:
        job_finish(job_id=job_id, now=timezone.now(), errors=[str(error)], message=str(error))
        return
    job_finish(
        job_id=job_id,
        now=timezone.now(),
        result={"file": name, "labels": count, "download_name": "labels.pdf"},
        message=_("已生成 %(count)d 张标签") % {"count": count},
    )
