"""The group page: the group, one page of its points, its multiplier, terms and history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator

from refmeter.audit.selectors import AuditLine, audit_history
from refmeter.common.listing import Listing, ListParams
from refmeter.common.periods import is_active_on
from refmeter.organisations.models import User
from refmeter.registry.models import Point, PointKind
from refmeter.registry.selectors.groups import (
    _BASE_FIELDS,
    GroupDetail,
    _Base,
    _group_detail,
    group_get,
)
from refmeter.registry.selectors.history import HistoryFilter, _history_export, _history_page
from refmeter.registry.selectors.multipliers import MultiplierSpan, multiplier_spans
from refmeter.registry.selectors.points import _ROW_FIELDS, PointRow, _point_rows_from_values
from refmeter.registry.selectors.terms import TermsRow, group_terms_history


@dataclass(frozen=True)
class GroupPage:
    """What the group page shows, with one page of the group's points."""

    detail: GroupDetail
    page: Page  # of point ids, for the pager
    points: list[PointRow]
    multiplier_history: list[MultiplierSpan]
    terms_history: list[TermsRow]
    history: list[AuditLine]
    history_listing: Listing[AuditLine] | None = None


def group_page(
    *,
    user: User,
    group_id: int,
    as_of: dt.date,
    page_number: str | int | None,
    page_size: int,
    history_limit: int = 50,
    history_params: ListParams | None = None,
    history_filter: HistoryFilter | None = None,
    request_query: Any = None,
) -> GroupPage:
    """The group page in six queries whatever the group's size: the group (visibility
    checked once); the kind, dates and base-account fields of its points, for the
    multiplier, its history and the pager; the page's points with their places; the CT
    ratio and tariff history; the newest ``history_limit`` changes, or with
    ``history_params`` one page of them (two queries: their count and the page)."""
    group = group_get(user=user, group_id=group_id)
    points = list(
        Point.objects.filter(group=group)
        .order_by("kind", "account_number")
        .values_list("kind", *_BASE_FIELDS)
    )
    base = next((_Base(*row[1:]) for row in points if row[0] == PointKind.BASE), None)
    multiplier = sum(1 for row in points if is_active_on(as_of, row[5], row[6]))
    page = Paginator([row[1] for row in points], page_size).get_page(page_number)
    shown = {
        row["pk"]: row
        for row in Point.objects.filter(pk__in=list(page.object_list)).values(*_ROW_FIELDS)
    }
    return GroupPage(
        detail=_group_detail(group, base_point=base, multiplier=multiplier, as_of=as_of),
        page=page,
        points=_point_rows_from_values(
            (shown[pk] for pk in page.object_list), base.account_number if base else ""
        ),
        multiplier_history=multiplier_spans((row[5], row[6]) for row in points),
        terms_history=group_terms_history(group_id=group.pk),
        history=audit_history(
            subject_type="group", subject_id=group.pk, include_children=True, limit=history_limit
        )
        if history_limit and history_params is None
        else [],
        history_listing=None
        if history_params is None
        else _history_page(
            group_id=group.pk,
            params=history_params,
            filters=history_filter or HistoryFilter(),
            request_query=request_query,
        ),
    )


@dataclass(frozen=True)
class GroupHistoryExport:
    base_account_number: str
    lines: Iterator[AuditLine]


def group_history_export(
    *, user: User, group_id: int, params: ListParams, history_filter: HistoryFilter
) -> GroupHistoryExport:
    """The group page's change history with its filters and order, every page of it (the
    group's visibility checked as the page checks it)."""
    group = group_get(user=user, group_id=group_id)
    base = (
        Point.objects.filter(group=group, kind=PointKind.BASE)
        .values_list("account_number", flat=True)
        .first()
    )
    return GroupHistoryExport(
        base_account_number=base or "",
        lines=_history_export(group_id=group.pk, params=params, filters=history_filter),
    )
