"""Reads of the registry, always within the units the user may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.audit.selectors import AuditLine, audit_entries, audit_history, audit_lines
from refmeter.common import validators
from refmeter.common.listing import Listing, ListParams, page_queryset
from refmeter.common.periods import Period, is_active_on
from refmeter.common.text import clean_digits
from refmeter.common.versions import Meanwhile
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.registry.models import (
    AccessPoint,
    Group,
    GroupStatus,
    GroupTerms,
    Point,
    PointKind,
    PointStatus,
)


class RecordNotVisible(Exception):
    """Absent, or outside the user's units; the two are not told apart on purpose."""


def _not_visible(what: str) -> RecordNotVisible:
    return RecordNotVisible(
        _("未找到该%(what)s，或它不属于您所在单位及下属单位。") % {"what": what}
    )


def active_on_filter(on_date: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}active_from_date__lte": on_date}) & (
        Q(**{f"{prefix}active_to_date__isnull": True})
        | Q(**{f"{prefix}active_to_date__gt": on_date})
    )


# ---------------------------------------------------------------- multiplier


def max_concurrent(
    intervals: Iterable[tuple[dt.date, dt.date | None]], *, from_date: dt.date
) -> tuple[int, dt.date | None]:
    """The largest number of intervals active on one day on or after ``from_date``, and that day."""
    events: list[tuple[dt.date, int]] = []
    for start, end in intervals:
        if end is not None and end <= from_date:
            continue
        events.append((max(start, from_date), 1))
        if end is not None:
            events.append((end, -1))
    # Ends sort before starts on the same day: half-open periods do not overlap.
    events.sort(key=lambda event: (event[0], event[1]))
    current = best = 0
    best_day: dt.date | None = None
    for day, step in events:
        current += step
        if current > best:
            best, best_day = current, day
    return best, best_day


def group_multiplier_on(*, group_id: int, on_date: dt.date) -> int:
    """Active points of the group that day: the base account plus its active sub-accounts."""
    return Point.objects.filter(active_on_filter(on_date), group_id=group_id).count()


def base_account_subquery(*, group: str = "group_id") -> Subquery:
    """The base account number of the outer row's group, to annotate a query with."""
    return Subquery(
        Point.objects.filter(group_id=OuterRef(group), kind=PointKind.BASE).values(
            "account_number"
        )[:1]
    )


def group_point_days(*, group_id: int, period: Period) -> int:
    """Sum over the period's days of that day's multiplier."""
    rows = Point.objects.filter(
        group_id=group_id,
        active_from_date__lt=period.end_date,
    ).filter(Q(active_to_date__isnull=True) | Q(active_to_date__gt=period.start_date))
    return sum(
        period.overlap_days(active_from, active_to)
        for active_from, active_to in rows.values_list("active_from_date", "active_to_date")
    )


@dataclass(frozen=True)
class MultiplierSpan:
    from_date: dt.date
    to_date: dt.date | None
    multiplier: int


def multiplier_spans(
    intervals: Iterable[tuple[dt.date | None, dt.date | None]],
) -> list[MultiplierSpan]:
    """The multiplier as a sequence of spans, one per change, oldest first, from the
    points' active periods."""
    changes: dict[dt.date, int] = {}
    for start, end in intervals:
        if start is None:
            continue
        changes[start] = changes.get(start, 0) + 1
        if end is not None:
            changes[end] = changes.get(end, 0) - 1
    spans: list[MultiplierSpan] = []
    level = 0
    days = sorted(changes)
    for index, day in enumerate(days):
        level += changes[day]
        next_day = days[index + 1] if index + 1 < len(days) else None
        if spans and spans[-1].multiplier == level and spans[-1].to_date == day:
            spans[-1] = MultiplierSpan(spans[-1].from_date, next_day, level)
        else:
            spans.append(MultiplierSpan(day, next_day, level))
    return [span for span in spans if span.multiplier or span.to_date is not None]


def group_multiplier_history(*, group_id: int) -> list[MultiplierSpan]:
    return multiplier_spans(
        Point.objects.filter(group_id=group_id, active_from_date__isnull=False).values_list(
            "active_from_date", "active_to_date"
        )
    )


# ---------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupRow:
    group_id: int
    unit_name: str
    customer_name: str
    base_account_number: str
    base_name: str
    base_address: str
    device_type: str
    meter_asset_number: str
    created_date: dt.date
    status: str
    status_label: str
    active_points: int


def _visible_groups(user: User) -> QuerySet[Group]:
    return Group.objects.filter(unit_scope(user=user))


def group_search(
    *,
    user: User,
    as_of: dt.date,
    unit_id: int | None = None,
    customer: str = "",
    name: str = "",
    address: str = "",
    account_number: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
) -> QuerySet[Group]:
    """Groups matching the filters, annotated for :func:`group_rows`; not yet paged."""
    require(user=user, action=Action.VIEW_REGISTRY)
    groups = _visible_groups(user)
    if unit_id:
        unit = units_visible_to(user=user).filter(pk=unit_id).first()
        if unit is None:
            raise _not_visible(_("供电单位"))
        groups = groups.filter(unit__path__startswith=unit.path)
    if customer:
        groups = groups.filter(customer__name__icontains=customer)
    base = Q(points__kind=PointKind.BASE)
    if name:
        groups = groups.filter(base & Q(points__name__icontains=name))
    if address:
        groups = groups.filter(base & Q(points__device_address__icontains=address))
    if account_number:
        groups = groups.filter(base & Q(points__account_number=account_number))
    if created_from:
        groups = groups.filter(created_date__gte=created_from)
    if created_to:
        groups = groups.filter(created_date__lte=created_to)
    return groups.distinct().order_by("customer__name", "created_date", "id")


def group_rows(*, groups: Iterable[Group], as_of: dt.date) -> list[GroupRow]:
    """Plain rows for a page of groups, in three queries whatever the page size."""
    group_list = list(groups)
    ids = [group.pk for group in group_list]
    related = {
        group.pk: group
        for group in Group.objects.filter(pk__in=ids).select_related(
            "unit", "customer", "device_type"
        )
    }
    bases = {
        point.group_id: point
        for point in Point.objects.filter(group_id__in=ids, kind=PointKind.BASE)
    }
    counts = dict(
        Point.objects.filter(active_on_filter(as_of), group_id__in=ids)
        .values("group_id")
        .annotate(active=Count("id"))
        .values_list("group_id", "active")
    )
    rows = []
    for group_id in ids:
        group = related[group_id]
        base_point = bases.get(group_id)
        rows.append(
            GroupRow(
                group_id=group_id,
                unit_name=group.unit.name,
                customer_name=group.customer.name,
                base_account_number=base_point.account_number if base_point else "",
                base_name=base_point.name if base_point else "",
                base_address=base_point.device_address if base_point else "",
                device_type=str(group.device_type),
                meter_asset_number=group.meter_asset_number,
                created_date=group.created_date,
                status=group.status,
                status_label=group.get_status_display(),
                active_points=counts.get(group_id, 0),
            )
        )
    return rows


@dataclass(frozen=True)
class GroupDetail:
    group_id: int
    unit_name: str
    customer_id: int
    customer_name: str
    customer_address: str
    customer_phone: str
    outage_contact_name: str
    outage_contact_phone: str
    sms_number: str
    device_type: str
    rated_watts: Any
    daily_operating_hours: Any
    tariff_code: str
    meter_asset_number: str
    meter_barcode: str
    meter_box_resource_number: str
    ct_ratio: int
    meter_install_date: dt.date
    created_date: dt.date
    status: str
    status_label: str
    closed_date: dt.date | None
    base_point_id: int | None
    base_account_number: str
    base_name: str
    base_address: str
    multiplier: int
    active_sub_accounts: int
    sub_account_limit: int
    version: int


@dataclass(frozen=True)
class TermsRow:
    from_date: dt.date
    to_date: dt.date | None
    ct_ratio: int
    tariff_code: str


def group_terms_history(*, group_id: int) -> list[TermsRow]:
    """The group's CT ratio and tariff code over time, oldest first."""
    rows = list(
        GroupTerms.objects.filter(group_id=group_id)
        .order_by("from_date")
        .values_list("from_date", "ct_ratio", "tariff_code")
    )
    return [
        TermsRow(
            from_date=from_date,
            to_date=rows[index + 1][0] if index + 1 < len(rows) else None,
            ct_ratio=ct_ratio,
            tariff_code=tariff_code,
        )
        for index, (from_date, ct_ratio, tariff_code) in enumerate(rows)
    ]


TermsRow_ = tuple[dt.date, int, str]  # (from_date, ct_ratio, tariff_code)


@dataclass(frozen=True)
class TermsPiece:
    """Part of a stretch of days with one CT ratio and one tariff code."""

    start_date: dt.date
    end_date: dt.date
    ct_ratio: int
    tariff_code: str


def terms_pieces(rows: Sequence[TermsRow_], start: dt.date, end: dt.date) -> list[TermsPiece]:
    """Cut [start, end) where the terms change. ``rows`` are (from_date, ct_ratio,
    tariff_code), oldest first; the first row also covers any day before it."""
    pieces = []
    for index, (from_date, ct_ratio, tariff_code) in enumerate(rows):
        until = rows[index + 1][0] if index + 1 < len(rows) else end
        a = start if index == 0 else max(start, from_date)
        b = min(end, until)
        if a < b:
            pieces.append(TermsPiece(a, b, ct_ratio, tariff_code))
    return pieces


def groups_terms_rows(*, group_ids: Iterable[int], before: dt.date) -> dict[int, list[TermsRow_]]:
    """Each group's (from_date, ct_ratio, tariff_code) rows starting before ``before``,
    oldest first; a group without history has had its current values since creation."""
    ids = list(group_ids)
    rows: dict[int, list[TermsRow_]] = defaultdict(list)
    for group_id, from_date, ct_ratio, tariff_code in (
        GroupTerms.objects.filter(group_id__in=ids, from_date__lt=before)
        .order_by("group_id", "from_date")
        .values_list("group_id", "from_date", "ct_ratio", "tariff_code")
    ):
        rows[group_id].append((from_date, ct_ratio, tariff_code))
    missing = [group_id for group_id in ids if group_id not in rows]
    for group_id, created_date, ct_ratio, tariff_code in Group.objects.filter(
        pk__in=missing
    ).values_list("pk", "created_date", "ct_ratio", "tariff_code"):
        rows[group_id] = [(created_date, ct_ratio, tariff_code)]
    return dict(rows)


def group_terms_pieces(*, group: Group, start: dt.date, end: dt.date) -> list[TermsPiece]:
    """The group's CT ratio and tariff code over [start, end), cut where they change."""
    rows = groups_terms_rows(group_ids=[group.pk], before=end).get(group.pk, [])
    return terms_pieces(rows, start, end)


def group_get(*, user: User, group_id: int) -> Group:
    require(user=user, action=Action.VIEW_REGISTRY)
    group = (
        _visible_groups(user)
        .select_related("unit", "customer", "device_type")
        .filter(pk=group_id)
        .first()
    )
    if group is None:
        raise _not_visible(_("群组"))
    return group


class _Base(NamedTuple):
    pk: int
    account_number: str
    name: str
    device_address: str
    active_from_date: dt.date | None
    active_to_date: dt.date | None


_BASE_FIELDS = (
    "pk",
    "account_number",
    "name",
    "device_address",
    "active_from_date",
    "active_to_date",
)


def group_detail(*, user: User, group_id: int, as_of: dt.date) -> GroupDetail:
    group = group_get(user=user, group_id=group_id)
    base = Point.objects.filter(group=group, kind=PointKind.BASE).values_list(*_BASE_FIELDS).first()
    return _group_detail(
        group,
        base_point=_Base(*base) if base else None,
        multiplier=group_multiplier_on(group_id=group.pk, on_date=as_of),
        as_of=as_of,
    )


def _group_detail(
    group: Group, *, base_point: _Base | None, multiplier: int, as_of: dt.date
) -> GroupDetail:
    base_active = base_point is not None and is_active_on(
        as_of, base_point.active_from_date, base_point.active_to_date
    )
    customer = group.customer
    return GroupDetail(
        group_id=group.pk,
        unit_name=group.unit.name,
        customer_id=customer.pk,
        customer_name=customer.name,
        customer_address=customer.address,
        customer_phone=customer.phone,
        outage_contact_name=customer.outage_contact_name,
        outage_contact_phone=customer.outage_contact_phone,
        sms_number=customer.sms_number,
        device_type=group.device_type.name,
        rated_watts=group.device_type.rated_watts,
        daily_operating_hours=group.device_type.daily_operating_hours,
        tariff_code=group.tariff_code,
        meter_asset_number=group.meter_asset_number,
        meter_barcode=group.meter_barcode,
        meter_box_resource_number=group.meter_box_resource_number,
        ct_ratio=group.ct_ratio,
        meter_install_date=group.meter_install_date,
        created_date=group.created_date,
        status=group.status,
        status_label=group.get_status_display(),
        closed_date=group.closed_date,
        base_point_id=base_point.pk if base_point else None,
        base_account_number=base_point.account_number if base_point else "",
        base_name=base_point.name if base_point else "",
        base_address=base_point.device_address if base_point else "",
        multiplier=multiplier,
        active_sub_accounts=multiplier - (1 if base_active else 0),
        sub_account_limit=settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS,
        version=group.version,
    )


# ---------------------------------------------------------------- points


@dataclass(frozen=True)
class PointRow:
    point_id: int
    group_id: int
    kind: str
    kind_label: str
    account_number: str
    name: str
    device_address: str
    nearby_number: str
    access_point_number: str
    access_point_name: str
    area_number: str
    area_name: str
    status: str
    status_label: str
    active_from_date: dt.date | None
    active_to_date: dt.date | None
    base_account_number: str
    version: int


def _point_row(point: Point, base_account_number: str) -> PointRow:
    access_point = point.access_point
    area = point.area
    return PointRow(
        point_id=point.pk,
        group_id=point.group_id,
        kind=point.kind,
        kind_label=point.get_kind_display(),
        account_number=point.account_number,
        name=point.name,
        device_address=point.device_address,
        nearby_number=point.nearby_number,
        access_point_number=access_point.number if access_point else "",
        access_point_name=access_point.name if access_point else "",
        area_number=area.number if area else "",
        area_name=area.name if area else "",
        status=point.status,
        status_label=point.get_status_display(),
        active_from_date=point.active_from_date,
        active_to_date=point.active_to_date,
        base_account_number=base_account_number,
        version=point.version,
    )


# A point's row as values, without building model instances (the hot pages).
_ROW_FIELDS = (
    "pk",
    "group_id",
    "kind",
    "account_number",
    "name",
    "device_address",
    "nearby_number",
    "access_point__number",
    "access_point__name",
    "area__number",
    "area__name",
    "status",
    "active_from_date",
    "active_to_date",
    "version",
)


def _point_rows_from_values(
    rows: Iterable[dict[str, Any]], base_account_number: str
) -> list[PointRow]:
    kinds = {value: str(label) for value, label in PointKind.choices}
    statuses = {value: str(label) for value, label in PointStatus.choices}
    return [
        PointRow(
            point_id=row["pk"],
            group_id=row["group_id"],
            kind=row["kind"],
            kind_label=kinds.get(row["kind"], row["kind"]),
            account_number=row["account_number"],
            name=row["name"],
            device_address=row["device_address"],
            nearby_number=row["nearby_number"],
            access_point_number=row["access_point__number"] or "",
            access_point_name=row["access_point__name"] or "",
            area_number=row["area__number"] or "",
            area_name=row["area__name"] or "",
            status=row["status"],
            status_label=statuses.get(row["status"], row["status"]),
            active_from_date=row["active_from_date"],
            active_to_date=row["active_to_date"],
            base_account_number=base_account_number,
            version=row["version"],
        )
        for row in rows
    ]


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


def group_points(*, user: User, group_id: int) -> QuerySet[Point]:
    """The group's points, base account first; page it, then pass it to :func:`point_rows`."""
    group = group_get(user=user, group_id=group_id)
    return Point.objects.filter(group=group).order_by("kind", "account_number")


def point_rows(*, points: Iterable[Point]) -> list[PointRow]:
    point_list = list(points)
    if not point_list:
        return []
    ids = [point.pk for point in point_list]
    loaded = {
        point.pk: point
        for point in Point.objects.filter(pk__in=ids).select_related("access_point", "area")
    }
    group_ids = {point.group_id for point in point_list}
    base_numbers = dict(
        Point.objects.filter(group_id__in=group_ids, kind=PointKind.BASE).values_list(
            "group_id", "account_number"
        )
    )
    return [
        _point_row(loaded[point_id], base_numbers.get(loaded[point_id].group_id, ""))
        for point_id in ids
    ]


def point_rows_iter(*, user: User, group_id: int, chunk_size: int = 2000) -> Iterator[PointRow]:
    """Every point of a group for an export, in bounded memory."""
    group = group_get(user=user, group_id=group_id)
    base_number = (
        Point.objects.filter(group=group, kind=PointKind.BASE)
        .values_list("account_number", flat=True)
        .first()
        or ""
    )
    points = (
        Point.objects.filter(group=group)
        .select_related("access_point", "area")
        .order_by("kind", "account_number")
    )
    for point in points.iterator(chunk_size=chunk_size):
        yield _point_row(point, base_number)


def point_get(*, user: User, point_id: int) -> Point:
    require(user=user, action=Action.VIEW_REGISTRY)
    point = (
        Point.objects.filter(unit_scope(user=user, unit_field="group__unit"), pk=point_id)
        .select_related("group", "group__customer", "access_point", "area")
        .first()
    )
    if point is None:
        raise _not_visible(_("用电点"))
    return point


def point_detail(*, user: User, point_id: int) -> PointRow:
    """One point as a row, in one query (its access point, area and base account with it)."""
    require(user=user, action=Action.VIEW_REGISTRY)
    rows = list(
        Point.objects.filter(unit_scope(user=user, unit_field="group__unit"), pk=point_id)
        .values(*_ROW_FIELDS)
        .annotate(base_account_number=base_account_subquery())[:1]
    )
    if not rows:
        raise _not_visible(_("用电点"))
    return _point_rows_from_values(rows, rows[0]["base_account_number"] or "")[0]


def point_history(*, user: User, point_id: int) -> list[AuditLine]:
    point = point_get(user=user, point_id=point_id)
    return audit_history(subject_type="point", subject_id=point.pk)


def group_history(*, user: User, group_id: int) -> list[AuditLine]:
    group = group_get(user=user, group_id=group_id)
    return audit_history(subject_type="group", subject_id=group.pk, include_children=True)


HISTORY_SORTS = {"time": ("occurred_at", "id")}


@dataclass(frozen=True)
class HistoryFilter:
    """Which changes of a group the page shows: one action, a half-open time span."""

    action: str = ""
    since: dt.datetime | None = None
    before: dt.datetime | None = None


def _history_page(
    *, group_id: int, params: ListParams, filters: HistoryFilter, request_query: Any
) -> Listing[AuditLine]:
    """One page of the changes of a group and its points (the count and the page), in the
    user's language; the caller has checked the group is visible."""
    entries = audit_entries(
        subject_type="group", subject_id=group_id, include_children=True,
        actions=[filters.action] if filters.action else [], since=filters.since,
        before=filters.before,
    )  # fmt: skip
    return page_queryset(
        entries, params, columns=HISTORY_SORTS, request_query=request_query,
        prefix="history_", rows=lambda page: history_for_people(audit_lines(page)),
    )  # fmt: skip


# ---------------------------------------------------------------- places


def access_point_number_problem(number: str) -> str | None:
    return validators.access_point_number_problem(number)


def access_point_lookup(*, user: User, number: str) -> tuple[AccessPoint | None, str | None]:
    """The access point (with its area) of that number among the user's units, or why not."""
    number = clean_digits(number)
    problem = access_point_number_problem(number)
    if problem:
        return None, problem
    access_point = (
        AccessPoint.objects.filter(unit_scope(user=user, unit_field="area__unit"), number=number)
        .select_related("area")
        .first()
    )
    if access_point is None:
        return None, _("接入点 %(number)s 不存在或不属于您的单位。") % {"number": number}
    return access_point, None


# ---------------------------------------------------------------- statistics


@dataclass(frozen=True)
class PointStatistics:
    as_of: dt.date
    total: int
    by_customer: list[dict[str, Any]]
    by_device_type: list[dict[str, Any]]
    by_area: list[dict[str, Any]]


def point_statistics(*, user: User | None, as_of: dt.date) -> PointStatistics:
    """Active points on a date, by customer, device type and transformer area.

    ``user`` None means the whole database (the command line, run by an operator).
    """
    points = Point.objects.filter(active_on_filter(as_of))
    if user is not None:
        require(user=user, action=Action.VIEW_STATISTICS)
        points = points.filter(unit_scope(user=user, unit_field="group__unit"))
    by_customer = [
        {"customer": row["group__customer__name"], "points": row["points"]}
        for row in points.values("group__customer_id", "group__customer__name")
        .annotate(points=Count("id"))
        .order_by("-points", "group__customer__name")
    ]
    by_device_type = [
        {"device_type": row["group__device_type__name"], "points": row["points"]}
        for row in points.values("group__device_type_id", "group__device_type__name")
        .annotate(points=Count("id"))
        .order_by("-points", "group__device_type__name")
    ]
    by_area = [
        {"area_number": row["area__number"], "area": row["area__name"], "points": row["points"]}
        for row in points.values("area_id", "area__number", "area__name")
        .annotate(points=Count("id"))
        .order_by("-points", "area__number")
    ]
    return PointStatistics(
        as_of=as_of,
        total=sum(row["points"] for row in by_customer),
        by_customer=by_customer,
        by_device_type=by_device_type,
        by_area=by_area,
    )


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
