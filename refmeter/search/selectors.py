"""The one search box: whatever a user types, the records it names, grouped by kind.

Digits are numbers: an account number (a base account or a sub-account) or its prefix,
an access point (17 digits), a transformer area, a reference meter's asset number or
barcode. Anything else is also a fragment of a name or an address. Each kind is read with
a bounded query that an index answers (see ``migrations/0001_search_indexes.py``):

- prefixes as a range ``>= prefix AND < prefix with its last digit raised``, which a plain
  btree answers on any database, together with ``LIKE 'prefix%'`` for the exact meaning;
- exact numbers by their unique or plain btree indexes;
- fragments (``icontains``, that is ``UPPER(column) LIKE UPPER('%…%')`` on PostgreSQL) by
  pg_trgm GIN indexes over ``UPPER(column)``; a trigram needs three characters, so points'
  names and addresses are searched from three characters on, the small tables (customers,
  areas) from two. On PostgreSQL the points' indexes lead with the point's unit (the
  column ``search_unit_id`` of ``migrations/0002_point_unit_for_search.py``), so that a
  fragment common only in another unit costs no more than one found in none.

Each kind shows at most ``limit`` rows and counts its matches up to ``COUNT_CAP``, so a
search costs the same queries whatever it finds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.common.text import clean_text
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    Group,
    Point,
    PointKind,
    TransformerArea,
)

MAX_QUERY_LENGTH = 100
MIN_TEXT_LENGTH = 2
MIN_POINT_TEXT_LENGTH = 3  # one trigram
MIN_NUMBER_PREFIX = 4
COUNT_CAP = 1000
DEFAULT_LIMIT = 20

KIND_LABELS = {
    "point": _lazy("用电点"),
    "group": _lazy("群组"),
    "meter": _lazy("电能表"),
    "access_point": _lazy("接入点"),
    "area": _lazy("台区"),
    "customer": _lazy("客户"),
}


class UnusableSearch(Exception):
    """The text cannot be searched for; the message says why, in the user's words."""


@dataclass(frozen=True)
class Hit:
    title: str  # the number or name that matched
    detail: str  # what else identifies it
    url: str
    extra_url: str = ""  # a second place worth one click (a point's group)
    extra_label: str = ""


@dataclass(frozen=True)
class KindResult:
    kind: str
    label: str
    hits: list[Hit]
    count: int  # matches, counted up to COUNT_CAP
    capped: bool  # more than COUNT_CAP matched
    more_url: str = ""  # a filtered list with all of them, when one exists

    @property
    def more(self) -> int:
        return max(self.count - len(self.hits), 0)


@dataclass(frozen=True)
class SearchResult:
    query: str
    kinds: list[KindResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(kind.count for kind in self.kinds)


def search_text_clean(raw: str) -> str:
    """The text as it will be searched, or why it cannot be."""
    if "\x00" in raw:
        raise UnusableSearch(_("搜索内容含有无法识别的字符，请重新输入。"))
    text = clean_text(raw)
    if not text:
        raise UnusableSearch(
            _("请输入户号、接入点编号、台区编号、电能表资产编号、客户名称或地址。")
        )
    if len(text) > MAX_QUERY_LENGTH:
        raise UnusableSearch(
            _("搜索内容不能超过 %(limit)d 个字符（现有 %(count)d 个）。")
            % {"limit": MAX_QUERY_LENGTH, "count": len(text)}
        )
    digits = text.replace(" ", "")
    if digits.isascii() and digits.isdigit():
        if len(digits) < MIN_NUMBER_PREFIX:
            raise UnusableSearch(_("号码请至少输入 %(count)d 位。") % {"count": MIN_NUMBER_PREFIX})
        return digits
    if len(text) < MIN_TEXT_LENGTH:
        raise UnusableSearch(_("请至少输入 %(count)d 个字。") % {"count": MIN_TEXT_LENGTH})
    return text


def prefix_filter(column: str, prefix: str) -> Q:
    """Values of ``column`` starting with ``prefix`` (ASCII digits), as a range a btree index
    answers on every database, plus the LIKE that states the meaning exactly."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{column}__gte": prefix, f"{column}__lt": upper, f"{column}__startswith": prefix})


def _matched(
    queryset: QuerySet[Any], order: str, limit: int, *, fenced: bool = False
) -> tuple[list[int], int, bool]:
    """The first ``limit`` matches in ``order``, how many matched (up to COUNT_CAP) and
    whether more did, from one bounded read: the database stops after COUNT_CAP + 1
    matches, whatever index it walks, and the few are sorted here. Past the cap the shown
    ones are the first of the matches read, and the page asks for a narrower search."""
    # No ORDER BY (not even the model's default one): with it the planner may walk an
    # ordered index and filter row by row instead of using the search's own index.
    matches = queryset.order_by().values_list("pk", order)
    if fenced and connection.vendor == "postgresql" and not matches.query.is_empty():
        # The planner multiplies the unit's share by the fragment's, so it expects a
        # street of another unit to be common in the user's too and, with the LIMIT,
        # prefers to scan the table (a second for no match). Planned whole in a
        # materialized CTE, the query takes the unit-led trigram index; the LIMIT outside
        # still stops the read early.
        sql, params = matches.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH matches AS MATERIALIZED ({sql}) SELECT * FROM matches LIMIT %s",
                [*params, COUNT_CAP + 1],
            )
            found = [tuple(row) for row in cursor.fetchall()]
    else:
        found = list(matches[: COUNT_CAP + 1])
    capped = len(found) > COUNT_CAP
    found = sorted(found[:COUNT_CAP], key=lambda row: (row[1], row[0]))
    return [pk for pk, _order in found[:limit]], len(found), capped


def _in_order(model: Any, ids: list[int], *fields: str) -> list[dict[str, Any]]:
    rows = {row["pk"]: row for row in model.objects.filter(pk__in=ids).values("pk", *fields)}
    return [rows[pk] for pk in ids if pk in rows]


def _kind(
    kind: str, hits: list[Hit], count: int, capped: bool, *, more_url: str = ""
) -> KindResult:
    return KindResult(
        kind=kind,
        label=str(KIND_LABELS[kind]),
        hits=hits,
        count=count,
        capped=capped,
        more_url=more_url if count > len(hits) else "",
    )


def _points(queryset: QuerySet[Point], limit: int, *, fenced: bool = False) -> KindResult:
    ids, count, capped = _matched(queryset, "account_number", limit, fenced=fenced)
    kinds = dict(PointKind.choices)
    rows = _in_order(
        Point, ids, "group_id", "kind", "account_number", "name", "device_address",
        "group__customer__name",
    )  # fmt: skip
    hits = [
        Hit(
            title=row["account_number"],
            detail=" · ".join(
                [
                    str(kinds.get(row["kind"], row["kind"])),
                    row["name"],
                    row["device_address"],
                    row["group__customer__name"],
                ]
            ),
            url=reverse("registry:point_detail", args=[row["pk"]]),
            extra_url=reverse("registry:group_detail", args=[row["group_id"]]),
            extra_label=_("所属群组"),
        )
        for row in rows
    ]
    return _kind("point", hits, count, capped)


def _groups(queryset: QuerySet[Group], limit: int, kind: str = "group") -> KindResult:
    ids, count, capped = _matched(queryset, "meter_asset_number", limit)
    rows = _in_order(Group, ids, "meter_asset_number", "meter_barcode", "customer__name")
    bases = dict(
        Point.objects.filter(group_id__in=ids, kind=PointKind.BASE).values_list(
            "group_id", "account_number"
        )
    )
    hits = []
    for row in rows:
        base = bases.get(row["pk"], "")
        if kind == "group":
            title = base
            detail = f"{row['customer__name']} · {_('参考表')} {row['meter_asset_number']}"
        else:
            title = row["meter_asset_number"]
            barcode = f" · {_('条码')} {row['meter_barcode']}" if row["meter_barcode"] else ""
            detail = f"{row['customer__name']} · {_('基准户')} {base}{barcode}"
        hits.append(
            Hit(title=title, detail=detail, url=reverse("registry:group_detail", args=[row["pk"]]))
        )
    return _kind(kind, hits, count, capped)


def _access_points(queryset: QuerySet[AccessPoint], limit: int) -> KindResult:
    ids, count, capped = _matched(queryset, "number", limit)
    rows = _in_order(AccessPoint, ids, "number", "name", "area_id", "area__number", "area__name")
    hits = [
        Hit(
            title=row["number"],
            detail=f"{row['name']} · {_('台区')} {row['area__number']} {row['area__name']}",
            url=reverse("lineloss:area", args=[row["area_id"]]),
        )
        for row in rows
    ]
    return _kind("access_point", hits, count, capped)


def _areas(queryset: QuerySet[TransformerArea], limit: int, text: str) -> KindResult:
    ids, count, capped = _matched(queryset, "number", limit)
    hits = [
        Hit(title=row["number"], detail=row["name"], url=reverse("lineloss:area", args=[row["pk"]]))
        for row in _in_order(TransformerArea, ids, "number", "name")
    ]
    # The line-loss report lists areas by number or name: the rest are there (those with
    # figures or virtual energy last month).
    more = f"{reverse('lineloss:report')}?{urlencode({'area': text})}"
    return _kind("area", hits, count, capped, more_url=more)


def _customers(queryset: QuerySet[Customer], limit: int, text: str) -> KindResult:
    ids, count, capped = _matched(queryset, "name", limit)
    group_search = reverse("registry:group_search")
    hits = [
        Hit(
            title=row["name"],
            detail=" · ".join(part for part in (row["unit__name"], row["address"]) if part),
            url=f"{group_search}?{urlencode({'customer': row['name']})}",
        )
        for row in _in_order(Customer, ids, "name", "address", "unit__name")
    ]
    more = f"{group_search}?{urlencode({'customer': text})}"
    return _kind("customer", hits, count, capped, more_url=more)


def _is_code(text: str) -> bool:
    return (
        len(text) >= MIN_NUMBER_PREFIX
        and text.isascii()
        and text.isalnum()
        and any(character.isdigit() for character in text)
    )


def _points_to_match_text(user: User, points_in_scope: QuerySet[Point]) -> QuerySet[Point]:
    """The user's points, scoped so that the name and address indexes can do it: on
    PostgreSQL by the point's own unit column among the user's units (read first: a few
    rows), elsewhere through the group."""
    if connection.vendor != "postgresql" or user.unit_id is None:
        return points_in_scope
    units = list(units_visible_to(user=user).values_list("pk", flat=True))
    # a fixed clause with the ids bound as a parameter; the column is unknown to the model
    return Point.objects.extra(
        # bigint[] as the column: an integer[] would not match btree_gin's operator class
        where=["registry_point.search_unit_id = ANY(%s::bigint[])"],
        params=[units],
    )


def registry_search(*, user: User, text: str, limit: int = DEFAULT_LIMIT) -> SearchResult:
    """What ``text`` names among the records of the user's units, kind by kind (only the
    kinds that found something). Raises :class:`UnusableSearch` for text that cannot be
    searched and ``ActionNotAllowed`` for a user who may not look up the registry."""
    require(user=user, action=Action.VIEW_REGISTRY)
    query = search_text_clean(text)
    limit = max(1, min(limit, 100))
    points = Point.objects.filter(unit_scope(user=user, unit_field="group__unit"))
    groups = Group.objects.filter(unit_scope(user=user))
    access_points = AccessPoint.objects.filter(unit_scope(user=user, unit_field="area__unit"))
    areas = TransformerArea.objects.filter(unit_scope(user=user))
    customers = Customer.objects.filter(unit_scope(user=user))
    notes: list[str] = []
    if query.isdigit():
        kinds = [
            _points(
                points.filter(prefix_filter("account_number", query))
                if len(query) <= 10
                else points.filter(access_point__number=query),
                limit,
            ),
            _groups(
                groups.filter(
                    pk__in=Point.objects.filter(
                        prefix_filter("account_number", query), kind=PointKind.BASE
                    ).values("group_id")
                )
                if len(query) <= 10
                else groups.none(),
                limit,
            ),
            _groups(
                groups.filter(prefix_filter("meter_asset_number", query) | Q(meter_barcode=query)),
                limit,
                kind="meter",
            ),
            _access_points(access_points.filter(prefix_filter("number", query)), limit),
            _areas(areas.filter(prefix_filter("number", query)), limit, query),
        ]
    elif _is_code(query):
        # Letters and digits without a space (ZJ0000012345): a meter's asset number or
        # barcode as printed on it, not a fragment of a name; matched exactly, as typed
        # and in capitals.
        codes = {query, query.upper()}
        kinds = [
            _groups(
                groups.filter(Q(meter_asset_number__in=codes) | Q(meter_barcode__in=codes)),
                limit,
                kind="meter",
            ),
            _access_points(access_points.filter(number__in=codes), limit),
            _areas(areas.filter(number__in=codes), limit, query),
        ]
    else:
        if len(query) < MIN_POINT_TEXT_LENGTH:
            notes.append(
                _("按户名或地址查找用电点请至少输入 %(count)d 个字。")
                % {"count": MIN_POINT_TEXT_LENGTH}
            )
            found_points = points.none()
        else:
            found_points = _points_to_match_text(user, points).filter(
                Q(name__icontains=query) | Q(device_address__icontains=query)
            )
        kinds = [
            _points(found_points, limit, fenced=True),
            _access_points(
                access_points.filter(name__icontains=query)
                if len(query) >= MIN_POINT_TEXT_LENGTH
                else access_points.filter(number=query),
                limit,
            ),
            _areas(areas.filter(Q(name__icontains=query) | Q(number=query)), limit, query),
            _customers(customers.filter(name__icontains=query), limit, query),
        ]
    return SearchResult(query=query, kinds=[kind for kind in kinds if kind.count], notes=notes)
