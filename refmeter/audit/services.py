"""Writing audit entries. Callers write them inside the transaction of the change."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from refmeter.audit.models import AuditEntry
from refmeter.common.bulk import copy_rows, use_copy


@dataclass(frozen=True)
class AuditChange:
    action: str
    subject_type: str
    subject_id: int
    subject_label: str = ""
    parent_type: str = ""
    parent_id: int | None = None
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


def _actor_name(actor: AbstractBaseUser | None) -> str:
    if actor is None:
        return ""
    full_name = getattr(actor, "get_full_name", lambda: "")()
    return full_name or actor.get_username()


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    occurred_at: dt.datetime,
    change: AuditChange,
    reason: str = "",
    work_order: str = "",
) -> AuditEntry:
    return audit_record_many(
        actor=actor, occurred_at=occurred_at, changes=[change], reason=reason, work_order=work_order
    )[0]


def audit_record_many(
    *,
    actor: AbstractBaseUser | None,
    occurred_at: dt.datetime,
    changes: Iterable[AuditChange],
    reason: str = "",
    work_order: str = "",
) -> list[AuditEntry]:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit entries are written inside the transaction of the change")
    name = _actor_name(actor)
    entries = [
        AuditEntry(
            occurred_at=occurred_at,
            actor=actor if actor is not None and actor.pk else None,  # type: ignore[misc]
            actor_name=name,
            action=change.action,
            subject_type=change.subject_type,
            subject_id=change.subject_id,
            subject_label=change.subject_label,
            parent_type=change.parent_type,
            parent_id=change.parent_id,
            before=dict(change.before),
            after=dict(change.after),
            reason=reason,
            work_order=work_order,
        )
        for change in changes
    ]
    return AuditEntry.objects.bulk_create(entries, batch_size=1000)


# The AuditEntry columns written by COPY, in the order audit_record_set gives the values.
_SET_FIELDS = (
    "occurred_at", "actor", "actor_name", "action", "subject_type", "subject_id",
    "subject_label", "parent_type", "parent_id", "before", "after", "reason", "work_order",
)  # fmt: skip
_LABEL_LENGTH = AuditEntry._meta.get_field("subject_label").max_length or 200


def audit_record_set(
    *,
    actor: AbstractBaseUser | None,
    occurred_at: dt.datetime,
    changes: Sequence[AuditChange],
    reason: str = "",
    work_order: str = "",
) -> None:
    """The entries of :func:`audit_record_many` for a load of many records, written as one
    COPY on PostgreSQL (the same columns and values; their ids are not read back)."""
    if not changes:
        return
    if not use_copy(len(changes)):
        audit_record_many(
            actor=actor, occurred_at=occurred_at, changes=changes, reason=reason,
            work_order=work_order,
        )  # fmt: skip
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit entries are written inside the transaction of the change")
    name = _actor_name(actor)
    actor_id = actor.pk if actor is not None and actor.pk else None
    copy_rows(
        AuditEntry,
        [getattr(AuditEntry._meta.get_field(field), "column", field) for field in _SET_FIELDS],
        (
            (occurred_at, actor_id, name, change.action, change.subject_type, change.subject_id,
             change.subject_label[:_LABEL_LENGTH], change.parent_type, change.parent_id,
             json.dumps(dict(change.before), ensure_ascii=False),
             json.dumps(dict(change.after), ensure_ascii=False),
             reason, work_order)
            for change in changes
        ),
    )  # fmt: skip
