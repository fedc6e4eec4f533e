"""The master-data loads, in the order a utility goes live with them, and ``master_load``
which loads a directory of them all (see docs/go-live.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import is_csv_name, iter_csv_rows, read_rows, spreadsheet_bytes
from refmeter.masterdata.selectors import require_administrator
from refmeter.masterdata.services.base import LoadResult, Progress, no_progress
from refmeter.masterdata.services.catalog import plan_customers, plan_device_types
from refmeter.masterdata.services.places import plan_access_points, plan_areas
from refmeter.masterdata.services.run import Writer, run_load
from refmeter.masterdata.services.tariffs import plan_tariffs
from refmeter.masterdata.services.units import plan_units
from refmeter.masterdata.services.users import plan_users
from refmeter.masterdata.sheet import Spec, UnableToLoadMasterData
from refmeter.masterdata.specs import (
    ACCESS_POINTS,
    AREAS,
    CUSTOMERS,
    DEVICE_TYPES,
    TARIFFS,
    UNITS,
    USERS,
)
from refmeter.organisations.models import User
from refmeter.registry.services import UnableToLoadNearbyIndex, nearby_index_load

__all__ = [
    "LOADS",
    "LoadResult",
    "MasterLoad",
    "UnableToLoadMasterData",
    "load_file",
    "master_load",
]


@dataclass(frozen=True)
class Load:
    spec: Spec
    planner: Callable[..., Writer]


# In dependency order: each load needs only what the ones before it loaded.
LOADS: dict[str, Load] = {
    load.spec.kind: load
    for load in (
        Load(UNITS, plan_units),
        Load(USERS, plan_users),
        Load(CUSTOMERS, plan_customers),
        Load(DEVICE_TYPES, plan_device_types),
        Load(TARIFFS, plan_tariffs),
        Load(AREAS, plan_areas),
        Load(ACCESS_POINTS, plan_access_points),
    )
}
NEARBY_FILE = "nearby-index.xlsx"


def load_file(
    *,
    kind: str,
    actor: User,
    data: bytes,
    file_name: str,
    now: dt.datetime,
    dry_run: bool = False,
    progress: Progress = no_progress,
    allow_empty: bool = False,
) -> LoadResult:
    """Load one file of ``kind`` (see LOADS): all rows or none. An empty table is refused
    unless ``allow_empty`` (a directory's export of something the database has none of)."""
    load = LOADS[kind]
    return run_load(
        spec=load.spec, planner=load.planner, actor=actor, data=data, file_name=file_name,
        now=now, dry_run=dry_run, progress=progress, allow_empty=allow_empty,
    )  # fmt: skip


@dataclass
class MasterLoad:
    results: list[dict[str, Any]]
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "loads": self.results}


def _files(directory: Path) -> dict[str, Path]:
    """The file of each load in the directory: <kind>.xlsx (or .xls, .ods, .csv)."""
    found: dict[str, Path] = {}
    for kind in [*LOADS, "nearby_index"]:
        stem = kind.replace("_", "-")
        for suffix in (".xlsx", ".xls", ".ods", ".csv"):
            path = directory / f"{stem}{suffix}"
            if path.is_file():
                found[kind] = path
                break
    return found


def master_load(
    *,
    actor: User,
    directory: Path,
    now: dt.datetime,
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> MasterLoad:
    """Load every master-data file of a directory in dependency order, in one transaction:
    all files or none. A dry run checks each file against what the files before it
    would have loaded, then writes nothing."""
    require_administrator(actor)
    files = _files(directory)
    if not files:
        raise UnableToLoadMasterData(
            [_("目录中没有主数据文件（units.xlsx、customers.xlsx 等，见导入说明）。")]
        )
    results: list[dict[str, Any]] = []
    problems: list[str] = []

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            for kind, path in files.items():
                if kind == "nearby_index":
                    results.append(_nearby(actor=actor, path=path, now=now))
                    continue
                try:
                    result = load_file(
                        kind=kind, actor=actor, data=spreadsheet_bytes(path), file_name=path.name,
                        now=now, dry_run=False, progress=progress, allow_empty=True,
                    )  # fmt: skip
                except UnableToLoadMasterData as error:
                    problems += [f"{path.name}：{problem}" for problem in error.problems]
                    raise _Rollback from error
                item = result.as_dict()
                item["dry_run"] = dry_run
                if dry_run:
                    item["links"] = []  # of users the rollback below takes away again
                results.append(item)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if problems:
        raise UnableToLoadMasterData(problems)
    return MasterLoad(results=results, dry_run=dry_run)


def _nearby(*, actor: User, path: Path, now: dt.datetime) -> dict[str, Any]:
    rows = list(iter_csv_rows(path)) if is_csv_name(path.name) else read_rows(path)
    if not any(any(str(value).strip() for value in row) for row in rows[1:]):
        # The export of an empty index: its header alone.
        return {"kind": "nearby_index", "file_name": path.name, "created": 0, "updated": 0,
                "unchanged": 0, "access_points_created": 0}  # fmt: skip
    try:
        result = nearby_index_load(actor=actor, rows=rows, now=now)
    except UnableToLoadNearbyIndex as error:
        raise UnableToLoadMasterData(
            [f"{path.name}：{problem}" for problem in error.problems]
        ) from error
    return {"kind": "nearby_index", "file_name": path.name, **result.__dict__}
