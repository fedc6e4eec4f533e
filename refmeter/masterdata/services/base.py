"""What every master-data load shares: who may load, the result it reports, set-based
writes (COPY on PostgreSQL for large batches, bulk inserts elsewhere) and the audit
entries that name the file and its SHA-256."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils.translation import gettext as _

from refmeter.audit.models import AuditEntry
from refmeter.audit.services import AuditChange, audit_record_many
from refmeter.masterdata.sheet import Spec
from refmeter.organisations.models import User

EXAMPLES = 20
# Below this many rows bulk inserts are as quick as COPY.
COPY_FROM = 1000

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


def _copy(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY the rows (values in the order of ``columns``, as the database takes them)."""
    names = ", ".join(connection.ops.quote_name(name) for name in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def insert(model: type[ModelT], objects: list[ModelT], *, key: tuple[str, ...]) -> None:
    """Insert the new rows in one set and give each its id; ``key`` names the fields that
    tell them apart (unique together)."""
    if not objects:
        return
    if connection.vendor == "postgresql" and len(objects) >= COPY_FROM:
        # COPY returns no ids: read back those above the highest id visible before it.
        before = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        fields = [
            item.attname
            for item in model._meta.concrete_fields
            if not isinstance(item, models.AutoField)
        ]
        columns = [getattr(model._meta.get_field(name), "column", name) for name in fields]
        _copy(model, columns, ([getattr(item, name) for name in fields] for item in objects))
        ids = {
            tuple(found[:-1]): found[-1]
            for found in model._default_manager.filter(pk__gt=before).values_list(*key, "pk")
        }
        for instance in objects:
            instance.pk = ids[tuple(getattr(instance, name) for name in key)]
        return
    model._default_manager.bulk_create(objects, batch_size=1000)


def insert_values(
    model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """:func:`insert` for rows given as values of ``fields`` (attribute names; the first
    unique), without building a model instance per row on PostgreSQL; their ids in order."""
    if not rows:
        return []
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
        before = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        columns = [getattr(model._meta.get_field(name), "column", name) for name in fields]
        _copy(model, columns, rows)
        key = fields[0].removesuffix("_id")
        ids = dict(model._default_manager.filter(pk__gt=before).values_list(key, "pk"))
        return [ids[row[0]] for row in rows]
    objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
    model._default_manager.bulk_create(objects, batch_size=1000)
    return [instance.pk for instance in objects]


def update(model: type[ModelT], objects: list[ModelT], *, fields: Iterable[str]) -> None:
    if objects:
        model._default_manager.bulk_update(objects, list(fields), batch_size=1000)


def audit(*, actor: User, now: dt.datetime, changes: list[AuditChange], reason: str) -> None:
    """One audit entry per created or changed record, written as a set."""
    if not changes:
        return
    if connection.vendor != "postgresql" or len(changes) < COPY_FROM:
        audit_record_many(actor=actor, occurred_at=now, changes=changes, reason=reason)
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit entries are written inside the transaction of the change")
    name = actor.get_full_name() or actor.get_username()
    # The columns of AuditEntry, filled as audit_record_many fills them.
    fields = [
        "occurred_at", "actor", "actor_name", "action", "subject_type", "subject_id",
        "subject_label", "parent_type", "parent_id", "before", "after", "reason", "work_order",
    ]  # fmt: skip
    _copy(
        AuditEntry,
        [getattr(AuditEntry._meta.get_field(field), "column", field) for field in fields],
        (
            (now, actor.pk, name, change.action, change.subject_type, change.subject_id,
             change.subject_label[:200], change.parent_type, change.parent_id,
             json.dumps(dict(change.before), ensure_ascii=False),
             json.dumps(dict(change.after), ensure_ascii=False), reason, "")
            for change in changes
        ),
    )  # fmt: skip
