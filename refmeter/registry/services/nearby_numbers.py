"""The nearby-number index: loading it from a spreadsheet and resolving numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record_many
from refmeter.common.spreadsheets import find_header
from refmeter.common.text import clean_digits, clean_text
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import AccessPoint, NearbyKind, NearbyNumber, TransformerArea
from refmeter.registry.selectors import access_point_number_problem
from refmeter.registry.services.base import UnableToLoadNearbyIndex

# ---------------------------------------------------------------- nearby-number index

NEARBY_HEADERS = {
    "number": (
        "就近户号/局号",
        "户号/局号",
        "就近户号",
        "户号",
        "局号",
        "电能表资产号",
        "资产编号",
    ),
    "kind": ("类型", "号码类型"),
    "access_point_number": ("接入点编号",),
    "access_point_name": ("接入点名称",),
    "area_number": ("台区编号",),
    "area_name": ("台区名称",),
}
NEARBY_KIND_WORDS = {
    "户号": NearbyKind.ACCOUNT,
    "局号": NearbyKind.METER,
    "电能表": NearbyKind.METER,
    "表号": NearbyKind.METER,
    "杆号": NearbyKind.POLE,
    "箱号": NearbyKind.POLE,
}


@dataclass(frozen=True)
class NearbyLoadResult:
    created: int
    updated: int
    unchanged: int
    access_points_created: int


def nearby_index_load(
    *, actor: User, rows: list[list[object]], now: dt.datetime
) -> NearbyLoadResult:
    """Load the marketing system's export: nearby number -> access point (and area).

    Title rows above the header are skipped. An access point not yet known is
    created when the row names its area (known, in the user's units) and its
    name. All rows are checked before anything is written.
    """
    require(user=actor, action=Action.LOAD_NEARBY_INDEX)
    header = find_header(rows, NEARBY_HEADERS, {"number", "access_point_number"})
    if header is None:
        raise UnableToLoadNearbyIndex(
            _("未找到表头：表格应包含“就近户号/局号”和“接入点编号”两列。")
        )
    header_index, columns = header

    def cell(row: list[object], key: str) -> object:
        position = columns.get(key)
        return row[position] if position is not None and position < len(row) else None

    known_points = {
        access_point.number: access_point
        for access_point in AccessPoint.objects.filter(
            unit_scope(user=actor, unit_field="area__unit")
        ).select_related("area")
    }
    visible_areas = {
        area.number: area for area in TransformerArea.objects.filter(unit_scope(user=actor))
    }
    foreign_points = set(
        AccessPoint.objects.exclude(number__in=list(known_points)).values_list("number", flat=True)
    )
    problems: list[str] = []
    parsed: dict[str, tuple[str, str]] = {}
    new_points: dict[str, tuple[str, str]] = {}
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if all(clean_text(value) == "" for value in row):
            continue
        number = clean_digits(cell(row, "number"))
        access_point_number = clean_digits(cell(row, "access_point_number"))
        kind_text = clean_text(cell(row, "kind"))
        where = _("第 %(row)d 行") % {"row": offset}
        if not number:
            problems.append(_("%(where)s：就近户号/局号为空。") % {"where": where})
            continue
        if number in parsed:
            problems.append(
                _("%(where)s：号码 %(number)s 在文件中重复出现。")
                % {"where": where, "number": number}
            )
            continue
        kind: str = NearbyKind.ACCOUNT
        if kind_text:
            matches = [value for word, value in NEARBY_KIND_WORDS.items() if word in kind_text]
            if not matches:
                problems.append(
                    _("%(where)s：无法识别的号码类型“%(kind)s”（应为户号、局号或杆号/箱号）。")
                    % {"where": where, "kind": kind_text}
                )
                continue
            kind = matches[0]
        problem = access_point_number_problem(access_point_number)
        if problem:
            problems.append(f"{where}：{problem}")
            continue
        if access_point_number in foreign_points:
            problems.append(
                _("%(where)s：接入点 %(number)s 属于其他单位。")
                % {"where": where, "number": access_point_number}
            )
            continue
        if access_point_number not in known_points and access_point_number not in new_points:
            area_number = clean_digits(cell(row, "area_number"))
            name = clean_text(cell(row, "access_point_name"))
            if not area_number or not name:
                problems.append(
                    _("%(where)s：接入点 %(number)s 尚未登记，需同时提供接入点名称和台区编号。")
                    % {"where": where, "number": access_point_number}
                )
                continue
            if area_number not in visible_areas:
                problems.append(
                    _("%(where)s：台区 %(area)s 不存在或不属于您的单位。")
                    % {"where": where, "area": area_number}
                )
                continue
            new_points[access_point_number] = (name, area_number)
        parsed[number] = (kind, access_point_number)
    if problems:
        raise UnableToLoadNearbyIndex(problems)
    if not parsed:
        raise UnableToLoadNearbyIndex(_("表格中没有数据行。"))

    with transaction.atomic():
        created_points = AccessPoint.objects.bulk_create(
            [
                AccessPoint(number=number, name=name, area=visible_areas[area_number])
                for number, (name, area_number) in new_points.items()
            ]
        )
        for access_point in created_points:
            known_points[access_point.number] = access_point
        existing = {
            entry.number: entry
            for entry in NearbyNumber.objects.filter(number__in=list(parsed)).select_related(
                "access_point"
            )
        }
        to_create, to_update, changes = [], [], []
        for number, (kind, access_point_number) in parsed.items():
            access_point = known_points[access_point_number]
            entry = existing.get(number)
            if entry is None:
                to_create.append(
                    NearbyNumber(number=number, kind=kind, access_point=access_point, loaded_at=now)
                )
            elif entry.access_point_id != access_point.pk or entry.kind != kind:
                changes.append(
                    AuditChange(
                        action="nearby.update",
                        subject_type="nearby_number",
                        subject_id=entry.pk,
                        subject_label=number,
                        before={"access_point": entry.access_point.number, "kind": entry.kind},
                        after={"access_point": access_point_number, "kind": kind},
                    )
                )
                entry.access_point = access_point
                entry.kind = kind
                entry.loaded_at = now
                to_update.append(entry)
        NearbyNumber.objects.bulk_create(to_create, batch_size=2000)
        NearbyNumber.objects.bulk_update(
            to_update, ["access_point", "kind", "loaded_at"], batch_size=2000
        )
        changes.append(
            AuditChange(
                action="nearby.load",
                subject_type="nearby_index",
                subject_id=0,
                subject_label=_("就近户号索引"),
                after={
                    "created": len(to_create),
                    "updated": len(to_update),
                    "access_points_created": len(created_points),
                },
            )
        )
        audit_record_many(actor=actor, occurred_at=now, changes=changes)
    return NearbyLoadResult(
        created=len(to_create),
        updated=len(to_update),
        unchanged=len(parsed) - len(to_create) - len(to_update),
        access_points_created=len(created_points),
    )


def nearby_resolve(*, numbers: Sequence[str]) -> dict[str, AccessPoint]:
    """Access points (with their areas) of the nearby numbers that the index knows."""
    return {
        entry.number: entry.access_point
        for entry in NearbyNumber.objects.filter(number__in=list(numbers)).select_related(
            "access_point__area"
        )
    }
