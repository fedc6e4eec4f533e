"""A group's terms (CT ratio, tariff code) over time, and their pieces within a stretch."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from refmeter.registry.models import Group, GroupTerms


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
        GroupTerms.objects.filter(group_id__any_of=ids, from_date__lt=before)
        .order_by("group_id", "from_date")
        .values_list("group_id", "from_date", "ct_ratio", "tariff_code")
    ):
        rows[group_id].append((from_date, ct_ratio, tariff_code))
    missing = [group_id for group_id in ids if group_id not in rows]
    for group_id, created_date, ct_ratio, tariff_code in Group.objects.filter(
        pk__any_of=missing
    ).values_list("pk", "created_date", "ct_ratio", "tariff_code"):
        rows[group_id] = [(created_date, ct_ratio, tariff_code)]
    return dict(rows)


def group_terms_pieces(*, group: Group, start: dt.date, end: dt.date) -> list[TermsPiece]:
    """The group's CT ratio and tariff code over [start, end), cut where they change."""
    rows = groups_terms_rows(group_ids=[group.pk], before=end).get(group.pk, [])
    return terms_pieces(rows, start, end)
