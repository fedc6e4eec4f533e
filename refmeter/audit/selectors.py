from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from refmeter.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditLine:
    occurred_at: Any
    actor_name: str
    action: str
    subject_label: str
    changes: list[tuple[str, Any, Any]]
    reason: str
    work_order: str


def _as_line(entry: AuditEntry) -> AuditLine:
    keys = list(dict.fromkeys([*entry.before.keys(), *entry.after.keys()]))
    return AuditLine(
        occurred_at=entry.occurred_at,
        actor_name=entry.actor_name,
        action=entry.action,
        subject_label=entry.subject_label,
        changes=[(key, entry.before.get(key), entry.after.get(key)) for key in keys],
        reason=entry.reason,
        work_order=entry.work_order,
    )


def audit_entries(
    *,
    subject_type: str,
    subject_id: int,
    include_children: bool = False,
    actions: Sequence[str] = (),
    since: dt.datetime | None = None,
    before: dt.datetime | None = None,
) -> QuerySet[AuditEntry]:
    """The entries of one record (and, if asked, of the records under it), to be paged;
    ``actions`` keeps only those actions, ``since`` and ``before`` a half-open time span."""
    condition = Q(subject_type=subject_type, subject_id=subject_id)
    if include_children:
        condition |= Q(parent_type=subject_type, parent_id=subject_id)
    entries = AuditEntry.objects.filter(condition)
    if actions:
        entries = entries.filter(action__in=list(actions))
    if since:
        entries = entries.filter(occurred_at__gte=since)
    if before:
        entries = entries.filter(occurred_at__lt=before)
    return entries


def audit_lines(entries: Iterable[AuditEntry]) -> list[AuditLine]:
    return [_as_line(entry) for entry in entries]


def audit_history(
    *, subject_type: str, subject_id: int, include_children: bool = False, limit: int = 500
) -> list[AuditLine]:
    """Newest first: the entries of one record (and, if asked, of the records under it)."""
    condition = Q(subject_type=subject_type, subject_id=subject_id)
    if include_children:
        condition |= Q(parent_type=subject_type, parent_id=subject_id)
    return [_as_line(entry) for entry in AuditEntry.objects.filter(condition)[:limit]]
