"""Paging and sorting of a list page, read from the query string against a whitelist.

Every list that can pass one page uses it, so that all of them behave alike: ``page``,
``sort`` (a whitelisted key, ``-key`` for descending) and ``size`` come from the URL
with the filters; an unknown sort key or a page number that is not a number falls back to
the default and says so; a page past the end shows the last one. A page costs two queries
(the count and the page's rows) whatever the list's length, or none for a list already in
memory (the line-loss report, computed whole).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

T = TypeVar("T")

MAX_PAGE_SIZE = 200
# Far enough for any real list, near enough that the database's OFFSET stays cheap.
MAX_PAGE_NUMBER = 100_000
# An export reads its list this many records at a time: memory stays bounded and the
# number of queries grows with the batches, never with the rows.
EXPORT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class ListParams:
    """Which page, in which order, of how many rows; and what was wrong with the request."""

    page_number: int
    sort: str  # a whitelisted key, with "-" in front when descending
    page_size: int
    problems: list[str] = field(default_factory=list)

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def list_params(
    query: Mapping[str, str],
    *,
    sort_keys: Sequence[str],
    default_sort: str,
    page_size: int | None = None,
    prefix: str = "",
) -> ListParams:
    """``page``, ``sort`` and ``size`` of ``query`` (``prefix`` in front when a page shows
    two lists, e.g. ``history_page``); what cannot be used falls back, with a message."""
    problems: list[str] = []
    size = page_size or int(settings.REFMETER_PAGE_SIZE)
    raw_size = (query.get(f"{prefix}size") or "").strip()
    if raw_size:
        if raw_size.isascii() and raw_size.isdigit() and 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            size = int(raw_size)
        else:
            problems.append(
                _("每页条数应为 1 到 %(limit)d，已按每页 %(size)d 条显示。")
                % {"limit": MAX_PAGE_SIZE, "size": size}
            )
    number = 1
    raw_page = (query.get(f"{prefix}page") or "").strip()
    if raw_page:
        if raw_page.isascii() and raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE_NUMBER:
            number = int(raw_page)
        else:
            problems.append(_("页码“%(page)s”无效，已显示第 1 页。") % {"page": raw_page[:20]})
    sort = default_sort
    raw_sort = (query.get(f"{prefix}sort") or "").strip()
    if raw_sort:
        if raw_sort.lstrip("-") in sort_keys and raw_sort.count("-") <= 1:
            sort = raw_sort
        else:
            problems.append(_("不能按“%(sort)s”排序，已按默认顺序显示。") % {"sort": raw_sort[:40]})
    return ListParams(page_number=number, sort=sort, page_size=size, problems=problems)


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a list, with what the template needs for the pager and the headers."""

    rows: list[T]
    page: Page  # the pager's page (its object_list is not for display)
    total: int
    params: ListParams
    query: str  # the filters and the sort, without the page: for the pager
    filter_query: str  # the filters only: for the sort links
    prefix: str = ""

    @property
    def sort(self) -> str:
        return self.params.sort

    @property
    def problems(self) -> list[str]:
        return self.params.problems


def _queries(request_query: QueryDict | None, prefix: str) -> tuple[str, str]:
    if request_query is None:
        return "", ""
    kept = request_query.copy()
    kept.pop(f"{prefix}page", None)
    query = kept.urlencode()
    kept.pop(f"{prefix}sort", None)
    return query, kept.urlencode()


def order_fields(params: ListParams, columns: Mapping[str, Sequence[str]]) -> list[Any]:
    """The ORDER BY of the chosen sort: the key's columns, each turned round when
    descending, empty values last either way; callers add a unique column as the last
    tie-breaker so that pages never overlap."""
    ordering: list[Any] = []
    for column in columns[params.sort_key]:
        descending = params.descending != column.startswith("-")
        name = column.lstrip("-")
        ordering.append(
            F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        )
    return ordering


def page_queryset(
    queryset: QuerySet[Any],
    params: ListParams,
    *,
    columns: Mapping[str, Sequence[str]],
    tie_breaker: str = "pk",
    request_query: QueryDict | None = None,
    prefix: str = "",
    rows: Callable[[list[Any]], list[T]] | None = None,
) -> Listing[T]:
    """Sort and page a queryset in two queries (its count, then the page). ``rows`` turns
    the page's records into what the template shows, in a fixed number of queries."""
    ordered = queryset.order_by(*order_fields(params, columns), tie_breaker)
    page = Paginator(ordered, params.page_size).get_page(params.page_number)
    records = list(page.object_list)
    query, filter_query = _queries(request_query, prefix)
    return Listing(
        rows=rows(records) if rows else records,
        page=page,
        total=page.paginator.count,
        params=params,
        query=query,
        filter_query=filter_query,
        prefix=prefix,
    )


def in_batches(queryset: QuerySet[Any], *, size: int = EXPORT_BATCH_SIZE) -> Iterator[list[Any]]:
    """An ordered queryset's records, ``size`` at a time: one query per batch."""
    offset = 0
    while True:
        batch = list(queryset[offset : offset + size])
        if batch:
            yield batch
        if len(batch) < size:
            return
        offset += size


def export_queryset(
    queryset: QuerySet[Any],
    params: ListParams,
    *,
    columns: Mapping[str, Sequence[str]],
    tie_breaker: str = "pk",
    rows: Callable[[list[Any]], list[T]] | None = None,
    batch_size: int = EXPORT_BATCH_SIZE,
) -> Iterator[T]:
    """Every row of a list, all its pages, in the order the page shows them (the same sort
    and tie-breaker as :func:`page_queryset`), read in batches; ``rows`` turns each batch
    of records into rows in a fixed number of queries, as it does a page."""
    ordered = queryset.order_by(*order_fields(params, columns), tie_breaker)
    for batch in in_batches(ordered, size=batch_size):
        yield from rows(batch) if rows else batch


def _sortable(value: Any) -> tuple[int, Any]:
    # Empty values last, whatever the direction (as nulls_last does in the database).
    return (1, 0) if value is None or value == "" else (0, value)


def page_list(
    items: Sequence[T],
    params: ListParams,
    *,
    keys: Mapping[str, Callable[[T], Any]],
    request_query: QueryDict | None = None,
    prefix: str = "",
) -> Listing[T]:
    """Sort and page a list already in memory (stable: equal keys keep their order)."""
    key = keys[params.sort_key]
    present = [item for item in items if _sortable(key(item))[0] == 0]
    empty = [item for item in items if _sortable(key(item))[0] == 1]
    ordered = sorted(present, key=key, reverse=params.descending) + empty
    page = Paginator(ordered, params.page_size).get_page(params.page_number)
    query, filter_query = _queries(request_query, prefix)
    return Listing(
        rows=list(page.object_list),
        page=page,
        total=len(ordered),
        params=params,
        query=query,
        filter_query=filter_query,
        prefix=prefix,
    )


def require_date_range(
    data: dict[str, Any], start: str, end: str, *, start_label: str, end_label: str
) -> None:
    """A form's ``clean``: refuse the two date fields ``start`` and ``end`` out of order."""
    from django import forms

    problem = date_range_problem(
        data.get(start), data.get(end), start_label=start_label, end_label=end_label
    )
    if problem:
        raise forms.ValidationError(problem, code="inverted_range")


def date_range_problem(
    start: dt.date | None, end: dt.date | None, *, start_label: str, end_label: str
) -> str | None:
    """An inverted range is a typing error to show, not a filter that finds nothing."""
    if start and end and start > end:
        return _("%(start_label)s（%(start)s）晚于%(end_label)s（%(end)s），请改正日期范围。") % {
            "start_label": start_label,
            "start": start.isoformat(),
            "end_label": end_label,
            "end": end.isoformat(),
        }
    return None
