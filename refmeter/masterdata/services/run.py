"""Running one load: read the table, plan every row against the database, refuse the file
with every problem or write it all in one transaction (a dry run plans and writes nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from refmeter.masterdata.selectors import require_administrator
from refmeter.masterdata.services.base import LoadResult, Progress, load_reason, no_progress
from refmeter.masterdata.sheet import Spec, Table, UnableToLoadMasterData, file_digest, read_table
from refmeter.organisations.models import User

# A plan checks the table's rows (reporting problems on the table), fills the result and
# returns the writer that applies it, given the audit reason.
Writer = Callable[[str], None]
Planner = Callable[[Table, LoadResult], Writer]


def run_load(
    *,
    spec: Spec,
    planner: Callable[..., Writer],
    actor: User,
    data: bytes,
    file_name: str,
    now: dt.datetime,
    dry_run: bool,
    progress: Progress = no_progress,
    allow_empty: bool = False,
) -> LoadResult:
    require_administrator(actor)
    sha256 = file_digest(data)
    progress(0, 0, _("读取文件"))
    table = read_table(spec=spec, data=data, file_name=file_name)
    result = LoadResult(
        kind=spec.kind,
        file_name=file_name.rsplit("/", 1)[-1],
        sha256=sha256,
        dry_run=dry_run,
        rows=len(table.rows),
    )
    if not table.rows and not table.problems and not allow_empty:
        raise UnableToLoadMasterData([_("%(sheet)s：表头下没有数据行。") % {"sheet": table.sheet}])
    progress(0, len(table.rows), _("核对档案"))
    try:
        with transaction.atomic():
            write = planner(table=table, result=result, actor=actor, now=now)
            if table.problems:
                raise UnableToLoadMasterData(table.problems)
            if not dry_run:
                progress(0, len(table.rows), _("写入档案（完成后一次生效）"))
                write(load_reason(spec=spec, file_name=file_name, sha256=sha256))
    except IntegrityError as error:
        raise UnableToLoadMasterData(
            [_("导入期间档案被他人同时修改，未导入任何数据：请重新导入。")]
        ) from error
    progress(len(table.rows), len(table.rows), _("导入完成") if not dry_run else _("检查完成"))
    return result
