"""History for people: a group's changes paged and filtered, in the user's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext_lazy as _lazy

from refmeter.audit.selectors import AuditLine, audit_entries, audit_history, audit_lines
from refmeter.common.listing import Listing, ListParams, export_queryset, page_queryset
from refmeter.common.versions import Meanwhile
from refmeter.registry.models import Group, GroupStatus, Point, PointStatus

HISTORY_SORTS = {"time": ("occurred_at", "id")}


@dataclass(frozen=True)
class HistoryFilter:
    """Which changes of a group the page shows: one action, a half-open time span."""

    action: str = ""
    since: dt.datetime | None = None
    before: dt.datetime | None = None


def _history_entries(*, group_id: int, filters: HistoryFilter) -> Any:
    return audit_entries(
        subject_type="group", subject_id=group_id, include_children=True,
        actions=[filters.action] if filters.action else [], since=filters.since,
        before=filters.before,
    )  # fmt: skip


def _history_export(
    *, group_id: int, params: ListParams, filters: HistoryFilter
) -> Iterator[AuditLine]:
    """Every change the page's filters keep, in the page's order, read in batches; the
    caller has checked the group is visible."""
    return export_queryset(
        _history_entries(group_id=group_id, filters=filters), params, columns=HISTORY_SORTS,
        rows=lambda batch: history_for_people(audit_lines(batch)),
    )  # fmt: skip


def _history_page(
    *, group_id: int, params: ListParams, filters: HistoryFilter, request_query: Any
) -> Listing[AuditLine]:
    """One page of the changes of a group and its points (the count and the page), in the
    user's language; the caller has checked the group is visible."""
    return page_queryset(
        _history_entries(group_id=group_id, filters=filters), params, columns=HISTORY_SORTS,
        request_query=request_query, prefix="history_", rows=lambda page: history_for_people(audit_lines(page)),
    )  # fmt: skip


# ---------------------------------------------------------------- history for people

ACTION_LABELS = {
    "group.create": _lazy("立户"),
    "group.update": _lazy("修改群组信息"),
    "group.close": _lazy("销户"),
    "point.create": _lazy("登记用电点"),
    "point.activate": _lazy("接电"),
    "point.cancel": _lazy("取消用电点"),
    "point.update": _lazy("修改信息"),
    "point.close": _lazy("随群组销户"),
}
EXTRA_FIELD_LABELS = {"terms_from_date": _lazy("执行日期")}


def history_for_people(lines: list[AuditLine]) -> list[AuditLine]:
    """Field names and coded values of the audit trail in the user's language."""
    labels = {
        **{key: str(label) for key, label in EXTRA_FIELD_LABELS.items()},
        **{field.name: str(field.verbose_name) for field in Group._meta.concrete_fields},
        **{field.name: str(field.verbose_name) for field in Point._meta.concrete_fields},
    }
    statuses = {value: str(label) for value, label in [*PointStatus.choices, *GroupStatus.choices]}

    def value(field: str, raw: Any) -> Any:
        return statuses.get(raw, raw) if field == "status" else raw

    return [
        replace(
            line,
            action=str(ACTION_LABELS.get(line.action, line.action)),
            changes=[
                (labels.get(field, field), value(field, before), value(field, after))
                for field, before, after in line.changes
            ],
        )
        for line in lines
    ]


def changes_since(*, subject_type: str, subject_id: int, count: int) -> list[Meanwhile]:
    """The last ``count`` registry changes of a point or a group, oldest first, for people.

    Every registry write of a point or group raises its version by one and writes one audit
    entry of its own kind (``point.*``, ``group.*``), so the changes saved after version V
    are the newest (current - V) of those entries."""
    if count <= 0:
        return []
    prefix = f"{subject_type}."
    lines = [
        # Sorted by field: the database may keep an entry's keys in its own order.
        replace(line, changes=sorted(line.changes, key=lambda change: change[0]))
        for line in audit_history(subject_type=subject_type, subject_id=subject_id)
        if line.action.startswith(prefix)
    ][:count]
    return [
        Meanwhile(
            occurred_at=line.occurred_at,
            actor_name=line.actor_name,
            action=line.action,
            fields=tuple(
                (field, _as_text(before), _as_text(after)) for field, before, after in line.changes
            ),
            note=line.reason,
        )
        for line in reversed(history_for_people(lines))
    ]


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)
