"""Load transformer areas (台区编号, 名称, 单位编码) and access points (接入点编号, 名称,
台区编号). An access point file may hold every access point of a city (100,000 rows):
it is checked row by row in memory and written as sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange
from refmeter.common.bulk import insert, insert_values
from refmeter.common.validators import access_point_number_problem
from refmeter.masterdata.services.base import (
    LoadResult,
    audit,
    describe,
    update,
)
from refmeter.masterdata.services.run import Writer
from refmeter.masterdata.sheet import Table
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_path_is_visible, units_visible_to
from refmeter.registry.models import AccessPoint, Point, TransformerArea

CHUNK = 5000
# Above this many rows the existing access points are read in one pass.
WHOLE_TABLE_FROM = 20000


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _with_points(field: str, ids: Iterable[int]) -> set[int]:
    """Which of these areas or access points a point is placed at."""
    found: set[int] = set()
    for batch in chunks(ids):
        found |= set(
            Point.objects.filter(**{f"{field}__in": batch}).values_list(field, flat=True).distinct()
        )
    return found


def plan_areas(*, table: Table, result: LoadResult, actor: User, now: dt.datetime) -> Writer:
    units = {unit.code: unit for unit in units_visible_to(user=actor)}
    existing = {area.number: area for area in TransformerArea.objects.select_related("unit")}
    seen: set[str] = set()
    creates: list[TransformerArea] = []
    changes: list[tuple[TransformerArea, dict[str, tuple[Any, Any]], Any]] = []
    for row in table.rows:
        number = table.digits(row, "number")
        name = table.text(row, "name", max_length=200)
        unit_code = table.digits(row, "unit")
        if not number:
            table.problem(row, "number", _("不能为空。"))
            continue
        if not (number.isascii() and number.isalnum()) or len(number) > 32:
            table.problem(row, "number", _("台区编号只能包含字母和数字（至多 32 位）。"))
            continue
        unit = units.get(unit_code)
        if unit is None:
            table.problem(
                row, "unit",
                _("供电单位编码 %(code)s 不存在或不属于您的单位。") % {"code": unit_code},
            )  # fmt: skip
            continue
        if number in seen:
            table.problem(row, "number", _("台区编号 %(number)s 重复。") % {"number": number})
            continue
        seen.add(number)
        if not name:
            continue
        current = existing.get(number)
        if current is None:
            creates.append(TransformerArea(number=number, name=name, unit=unit))
            continue
        if not unit_path_is_visible(user=actor, path=current.unit.path):
            table.problem(row, "number", _("台区 %(number)s 属于其他单位。") % {"number": number})
            continue
        differing: dict[str, tuple[Any, Any]] = {}
        if current.name != name:
            differing["name"] = (current.name, name)
        if current.unit_id != unit.pk:
            differing["unit"] = (current.unit.code, unit.code)
        if differing:
            changes.append((current, differing, (row, unit)))
        else:
            result.unchanged += 1
    moved = _with_points("area_id", [area.pk for area, diff, _r in changes if "unit" in diff])
    for area, _differing, (row, _unit) in changes:
        if area.pk in moved:
            table.problem(
                row, "unit",
                _("台区 %(number)s 已有用电点，不能改变所属单位。") % {"number": area.number},
            )  # fmt: skip
    result.created = [f"{area.number} {area.name}" for area in creates]
    result.changed = [f"{area.number}：{describe(diff)}" for area, diff, _r in changes]

    def write(reason: str) -> None:
        insert(TransformerArea, creates, key=("number",))
        for area, differing, (_row, unit) in changes:
            area.name = differing.get("name", (None, area.name))[1]
            area.unit = unit
        update(TransformerArea, [area for area, _d, _r in changes], fields=["name", "unit"])
        entries = [
            AuditChange(
                action="area.create",
                subject_type="transformer_area",
                subject_id=area.pk,
                subject_label=f"{area.number} {area.name}",
                after={"number": area.number, "name": area.name, "unit": area.unit.code},
            )
            for area in creates
        ] + [
            AuditChange(
                action="area.update",
                subject_type="transformer_area",
                subject_id=area.pk,
                subject_label=f"{area.number} {area.name}",
                before={key: before for key, (before, _after) in differing.items()},
                after={key: after for key, (_before, after) in differing.items()},
            )
            for area, differing, _r in changes
        ]
        audit(actor=actor, now=now, changes=entries, reason=reason)

    return write


def plan_access_points(
    *, table: Table, result: LoadResult, actor: User, now: dt.datetime
) -> Writer:
    areas: dict[str, tuple[int, str]] = {
        number: (pk, path)
        for number, pk, path in TransformerArea.objects.values_list("number", "pk", "unit__path")
    }
    parsed: dict[str, tuple[Any, str, str]] = {}
    for row in table.rows:
        number = table.digits(row, "number")
        name = table.text(row, "name", max_length=200)
        area_number = table.digits(row, "area")
        problem = access_point_number_problem(number)
        if problem:
            table.problem(row, "number", str(problem))
            continue
        area = areas.get(area_number)
        if area is None or not unit_path_is_visible(user=actor, path=area[1]):
            table.problem(
                row, "area",
                _("台区 %(area)s 不存在或不属于您的单位。") % {"area": area_number},
            )  # fmt: skip
            continue
        if number in parsed:
            table.problem(row, "number", _("接入点编号 %(number)s 重复。") % {"number": number})
            continue
        if name:
            parsed[number] = (row, name, area_number)
    existing: dict[str, tuple[int, str, int]] = {}
    columns = ("number", "pk", "name", "area_id")
    if len(parsed) > WHOLE_TABLE_FROM:
        # A whole city's file: one pass over the table beats a hundred IN lists.
        found = AccessPoint.objects.values_list(*columns).iterator(chunk_size=20000)
    else:
        found = (
            row
            for batch in chunks(parsed)
            for row in AccessPoint.objects.filter(number__in=batch).values_list(*columns)
        )
    for number, pk, name, area_id in found:
        if number in parsed:
            existing[number] = (pk, name, area_id)
    area_numbers = {pk: number for number, (pk, _path) in areas.items()}
    creates: list[tuple[str, str, int]] = []  # number, name, area id
    changes: list[tuple[AccessPoint, dict[str, tuple[Any, Any]]]] = []
    for number, (row, name, area_number) in parsed.items():
        area_id = areas[area_number][0]
        current = existing.get(number)
        if current is None:
            creates.append((number, name, area_id))
            continue
        pk, current_name, current_area = current
        current_path = areas[area_numbers[current_area]][1]
        if not unit_path_is_visible(user=actor, path=current_path):
            table.problem(row, "number", _("接入点 %(number)s 属于其他单位。") % {"number": number})
            continue
        differing: dict[str, tuple[Any, Any]] = {}
        if current_name != name:
            differing["name"] = (current_name, name)
        if current_area != area_id:
            differing["area"] = (area_numbers[current_area], area_number)
        if differing:
            changes.append(
                (AccessPoint(pk=pk, number=number, name=name, area_id=area_id), differing)
            )
        else:
            result.unchanged += 1
    moved = _with_points("access_point_id", [place.pk for place, diff in changes if "area" in diff])
    if moved:
        for place, _diff in changes:
            if place.pk in moved:
                table.problem(
                    parsed[place.number][0], "area",
                    _("接入点 %(number)s 已有用电点，不能改变所属台区（请通过变更工单迁移）。")
                    % {"number": place.number},
                )  # fmt: skip
    result.created = [f"{number} {name}" for number, name, _area in creates]
    result.changed = [f"{place.number}：{describe(diff)}" for place, diff in changes]

    def write(reason: str) -> None:
        ids = insert_values(AccessPoint, ("number", "name", "area_id"), creates)
        update(AccessPoint, [place for place, _diff in changes], fields=["name", "area"])
        entries = [
            AuditChange(
                action="access_point.create",
                subject_type="access_point",
                subject_id=pk,
                subject_label=number,
                parent_type="transformer_area",
                parent_id=area_id,
                after={"number": number, "name": name, "area": parsed[number][2]},
            )
            for pk, (number, name, area_id) in zip(ids, creates, strict=True)
        ] + [
            AuditChange(
                action="access_point.update",
                subject_type="access_point",
                subject_id=place.pk,
                subject_label=place.number,
                parent_type="transformer_area",
                parent_id=place.area_id,
                before={key: before for key, (before, _after) in differing.items()},
                after={key: after for key, (_before, after) in differing.items()},
            )
            for place, differing in changes
        ]
        audit(actor=actor, now=now, changes=entries, reason=reason)

    return write
