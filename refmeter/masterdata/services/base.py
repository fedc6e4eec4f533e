"""What every master-data load shares: who may load, the result it reports, set-based
writes (``refmeter.common.bulk``: COPY on PostgreSQL for large batches, bulk inserts
elsewhere) and the audit entries that name the file and its SHA-256."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record_set
from refmeter.masterdata.sheet import Spec
from refmeter.organisations.models import User

EXAMPLES = 20
ModelT = TypeVar("ModelT", bound=models.Model)
Progress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, message: str) -> None:
    return None


@dataclass
class LoadResult:
    """What a load did, or (a dry run) would do."""

    kind: str
    file_name: str
    sha256: str
    dry_run: bool
    rows: int = 0
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    closed: list[str] = field(default_factory=list)
    # What else the loader should know (what a load leaves alone on purpose).
    notes: list[str] = field(default_factory=list)
    # The users a load created, each with the path of their one-time set-password link.
    links: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": len(self.created),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "closed": len(self.closed),
            "examples": {
                "created": self.created[:EXAMPLES],
                "changed": self.changed[:EXAMPLES],
                "closed": self.closed[:EXAMPLES],
            },
            "notes": self.notes,
            "links": self.links,
        }


def load_reason(*, spec: Spec, file_name: str, sha256: str) -> str:
    name = file_name.rsplit("/", 1)[-1][:200]
    return _("%(title)s导入：%(file)s（SHA-256 %(digest)s）") % {
        "title": spec.title,
        "file": name,
        "digest": sha256,
    }


def describe(changes: dict[str, tuple[Any, Any]]) -> str:
    return "，".join(f"{key}：{before} → {after}" for key, (before, after) in changes.items())


def update(model: type[ModelT], objects: list[ModelT], *, fields: Iterable[str]) -> None:
    if objects:
        model._default_manager.bulk_update(objects, list(fields), batch_size=1000)


def audit(*, actor: User, now: dt.datetime, changes: list[AuditChange], reason: str) -> None:
    """One audit entry per created or changed record, written as a set."""
    audit_record_set(actor=actor, occurred_at=now, changes=changes, reason=reason)
