"""Writes to the registry. Each runs in one transaction and writes its audit entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record, audit_record_many
from refmeter.common import validators
from refmeter.common.spreadsheets import find_header
from refmeter.common.text import clean_digits, clean_text, is_digits
from refmeter.common.validators import FieldProblem
from refmeter.common.versions import Meanwhile, stale_version_problems
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.registry.models import (
    AccessPoint,
    AccountNumberCounter,
    Customer,
    DeviceType,
    FinalBillRequest,
    Group,
    GroupStatus,
    GroupTerms,
    NearbyKind,
    NearbyNumber,
    Point,
    PointKind,
    PointPlacement,
    PointStatus,
    RetiredAccountNumber,
    TransformerArea,
)
from refmeter.registry.selectors import (
    RecordNotVisible,
    access_point_lookup,
    access_point_number_problem,
    changes_since,
    max_concurrent,
)


class UnableToChangeRegistry(Exception):
    """Base of the registry's refusals; ``problems`` lists every reason, one per line."""

    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class UnableToCreateCustomer(UnableToChangeRegistry):
    pass


class UnableToCreatePlace(UnableToChangeRegistry):
    pass


class UnableToLoadNearbyIndex(UnableToChangeRegistry):
    pass


class UnableToIssueAccountNumbers(UnableToChangeRegistry):
    pass


class UnableToCreateGroup(UnableToChangeRegistry):
    pass


class UnableToAddSubAccounts(UnableToChangeRegistry):
    pass


class UnableToActivateSubAccount(UnableToChangeRegistry):
    pass


class UnableToCancelSubAccount(UnableToChangeRegistry):
    pass


class UnableToUpdatePoint(UnableToChangeRegistry):
    pass


class UnableToSaveStaleEdit(UnableToChangeRegistry):
    """The point or group was saved by someone else after the caller read it (at
    ``expected_version``); nothing was written. ``changes`` lists what was saved meanwhile."""

    def __init__(self, problems: Sequence[str], *, current_version: int, changes: list[Meanwhile]):
        super().__init__(problems)
        self.current_version = current_version
        self.changes = changes


def _require_version(record: Point | Group, expected_version: int | None) -> None:
    """Refuse a write based on another version than the (locked) record's current one."""
    if expected_version is None or record.version == expected_version:
        return
    subject_type = "point" if isinstance(record, Point) else "group"
    changes = changes_since(
        subject_type=subject_type,
        subject_id=record.pk,
        count=record.version - expected_version,
    )
    versions = {"expected": expected_version, "current": record.version}
    if isinstance(record, Point):
        heading = _(
            "用电点 %(number)s 在您读取之后已被他人修改（您读取的是第 %(expected)d 版，"
            "现为第 %(current)d 版），本次修改未保存。"
        ) % {"number": record.account_number, **versions}
    else:
        heading = _(
            "群组（参考表 %(meter)s）在您读取之后已被他人修改（您读取的是第 %(expected)d 版，"
            "现为第 %(current)d 版），本次修改未保存。"
        ) % {"meter": record.meter_asset_number, **versions}
    raise UnableToSaveStaleEdit(
        stale_version_problems(heading=heading, changes=changes),
        current_version=record.version,
        changes=changes,
    )


def _bump(record: Point | Group) -> None:
    """One saved change: the version goes up by one (the record is locked, so it holds)."""
    if not record.bump_version():
        raise RuntimeError(f"{record!r} changed while locked")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _point_snapshot(point: Point) -> dict[str, str]:
    return {
        "account_number": point.account_number,
        "name": point.name,
        "device_address": point.device_address,
        "nearby_number": point.nearby_number,
        "access_point": point.access_point.number if point.access_point_id else "",  # type: ignore[union-attr]
        "area": point.area.number if point.area_id else "",  # type: ignore[union-attr]
        "status": point.status,
        "active_from_date": _text(point.active_from_date),
        "active_to_date": _text(point.active_to_date),
    }


def _point_change(
    action: str, point: Point, before: dict[str, str], after: dict[str, str]
) -> AuditChange:
    changed = {key for key in after if before.get(key) != after.get(key)}
    return AuditChange(
        action=action,
        subject_type="point",
        subject_id=point.pk,
        subject_label=f"{point.account_number} {point.name}",
        parent_type="group",
        parent_id=point.group_id,
        before={key: before[key] for key in sorted(changed) if key in before},
        after={key: after[key] for key in sorted(changed)},
    )


def _require_unit(actor: User, unit: SupplyUnit) -> None:
    if not unit_is_visible(user=actor, unit=unit):
        raise RecordNotVisible(_("您无权操作其他单位的数据。"))


def _placements_open(points: Sequence[Point]) -> None:
    """Record where newly active points are connected, from the day they start."""
    PointPlacement.objects.bulk_create(
        [
            PointPlacement(
                point=point,
                area_id=point.area_id,
                access_point_id=point.access_point_id,
                from_date=point.active_from_date,
            )
            for point in points
            if point.active_from_date is not None and point.area_id is not None
        ],
        batch_size=1000,
    )


def _placement_move(point: Point, *, effective_date: dt.date) -> None:
    """The point draws from its (new) area and access point from ``effective_date`` on."""
    current = (
        PointPlacement.objects.filter(point=point, to_date__isnull=True)
        .order_by("-from_date")
        .first()
    )
    if current is None or point.area_id is None:
        return
    if effective_date <= current.from_date:
        current.area_id = point.area_id
        current.access_point_id = point.access_point_id
        current.save(update_fields=["area", "access_point"])
        return
    current.to_date = effective_date
    current.save(update_fields=["to_date"])
    PointPlacement.objects.create(
        point=point,
        area_id=point.area_id,
        access_point_id=point.access_point_id,
        from_date=effective_date,
    )


# ---------------------------------------------------------------- reference data


# The customer's numbers with a known shape (empty is allowed: not every sheet has them).
CUSTOMER_CHECKS: dict[str, Callable[[object], str | None]] = {
    "registration_number": validators.registration_number_problem,
    "handler_id_number": validators.id_card_problem,
    "phone": validators.phone_problem,
    "handler_phone": validators.phone_problem,
    "outage_contact_phone": validators.phone_problem,
    "sms_number": validators.mobile_problem,
}


def customer_detail_problems(details: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for name, check in CUSTOMER_CHECKS.items():
        value = clean_text(details.get(name, ""))
        problem = check(value) if value else None
        if problem:
            label = getattr(Customer._meta.get_field(name), "verbose_name", name)
            problems.append(FieldProblem(f"{label}：{problem}", field=name))
    return problems


def customer_create(
    *,
    actor: User,
    unit: SupplyUnit,
    name: str,
    created_date: dt.date,
    now: dt.datetime,
    **details: str,
) -> Customer:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, unit)
    name = clean_text(name)
    if not name:
        raise UnableToCreateCustomer(_("客户名称不能为空。"))
    if Customer.objects.filter(unit=unit, name=name).exists():
        raise UnableToCreateCustomer(_("本单位已有名为“%(name)s”的客户。") % {"name": name})
    allowed = {field.name for field in Customer._meta.get_fields()} - {"id", "unit", "name"}
    unknown = set(details) - allowed
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    problems = customer_detail_problems(details)
    if problems:
        raise UnableToCreateCustomer(problems)
    with transaction.atomic():
        customer = Customer.objects.create(
            unit=unit,
            name=name,
            created_date=created_date,
            **{key: clean_text(value) for key, value in details.items()},
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="customer.create",
                subject_type="customer",
                subject_id=customer.pk,
                subject_label=name,
                after={"name": name, "unit": unit.code},
            ),
        )
    return customer


def device_type_create(
    *,
    actor: User,
    name: str,
    rated_watts: Decimal,
    daily_operating_hours: Decimal = Decimal(24),
    now: dt.datetime,
) -> DeviceType:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    name = clean_text(name)
    problems = []
    if not name:
        problems.append(_("设备类型名称不能为空。"))
    if rated_watts <= 0:
        problems.append(_("额定功率必须大于 0 瓦。"))
    if not (0 < daily_operating_hours <= 24):
        problems.append(_("日运行小时数应在 0 到 24 之间。"))
    if name and DeviceType.objects.filter(name=name).exists():
        problems.append(_("设备类型“%(name)s”已存在。") % {"name": name})
    if problems:
        raise UnableToCreatePlace(problems)
    with transaction.atomic():
        device_type = DeviceType.objects.create(
            name=name, rated_watts=rated_watts, daily_operating_hours=daily_operating_hours
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="device_type.create",
                subject_type="device_type",
                subject_id=device_type.pk,
                subject_label=name,
                after={"rated_watts": str(rated_watts), "hours": str(daily_operating_hours)},
            ),
        )
    return device_type


def transformer_area_create(
    *, actor: User, unit: SupplyUnit, number: str, name: str, now: dt.datetime
) -> TransformerArea:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, unit)
    number = clean_digits(number)
    if not number:
        raise UnableToCreatePlace(_("台区编号不能为空。"))
    if TransformerArea.objects.filter(number=number).exists():
        raise UnableToCreatePlace(_("台区编号 %(number)s 已存在。") % {"number": number})
    with transaction.atomic():
        area = TransformerArea.objects.create(unit=unit, number=number, name=clean_text(name))
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="area.create",
                subject_type="area",
                subject_id=area.pk,
                subject_label=f"{number} {area.name}",
                after={"number": number, "name": area.name, "unit": unit.code},
            ),
        )
    return area


def access_point_create(
    *, actor: User, area: TransformerArea, number: str, name: str, now: dt.datetime
) -> AccessPoint:
    require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, area.unit)
    number = clean_digits(number)
    problem = access_point_number_problem(number)
    if problem:
        raise UnableToCreatePlace(problem)
    if AccessPoint.objects.filter(number=number).exists():
        raise UnableToCreatePlace(_("接入点编号 %(number)s 已存在。") % {"number": number})
    with transaction.atomic():
        access_point = AccessPoint.objects.create(number=number, name=clean_text(name), area=area)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="access_point.create",
                subject_type="access_point",
                subject_id=access_point.pk,
                subject_label=f"{number} {access_point.name}",
                after={"number": number, "name": access_point.name, "area": area.number},
            ),
        )
    return access_point


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


# ---------------------------------------------------------------- account numbers


def account_numbers_issue(*, unit: SupplyUnit, count: int) -> list[str]:
    """``count`` new account numbers of the unit: its prefix, then a rising sequence.

    Must run inside the caller's transaction; the counter row is locked so that
    two clerks never get the same number. Numbers already taken (loaded from
    the marketing system) and numbers retired with a withdrawn order are skipped.
    """
    if count <= 0:
        return []
    if not unit.account_prefix:
        raise UnableToIssueAccountNumbers(
            _("单位“%(unit)s”未设置户号前缀，无法生成户号。") % {"unit": unit.name}
        )
    width = 10 - len(unit.account_prefix)
    counter, _created = AccountNumberCounter.objects.select_for_update().get_or_create(unit=unit)
    issued: list[str] = []
    sequence = counter.last_sequence
    while len(issued) < count:
        needed = count - len(issued)
        candidates = [
            f"{unit.account_prefix}{value:0{width}d}"
            for value in range(sequence + 1, sequence + 1 + needed)
        ]
        sequence += needed
        if sequence >= 10**width:
            raise UnableToIssueAccountNumbers(
                _("单位“%(unit)s”的户号已用完。") % {"unit": unit.name}
            )
        taken = set(
            Point.objects.filter(account_number__in=candidates).values_list(
                "account_number", flat=True
            )
        ) | set(  # retired with a withdrawn order: never issued again
            RetiredAccountNumber.objects.filter(number__in=candidates).values_list(
                "number", flat=True
            )
        )
        issued.extend(number for number in candidates if number not in taken)
    counter.last_sequence = sequence
    counter.save(update_fields=["last_sequence"])
    return issued


# ---------------------------------------------------------------- groups and points


@dataclass(frozen=True)
class PointInput:
    """One point to register. Empty ``account_number`` means: issue a new one.

    The place comes from ``access_point_number`` or, failing that, from the
    nearby-number index. With ``active_from_date`` the point is active from
    that day (it must then have a place).
    """

    name: str
    device_address: str
    nearby_number: str = ""
    access_point_number: str = ""
    account_number: str = ""
    active_from_date: dt.date | None = None


def _check_points(
    *,
    actor: User,
    inputs: Sequence[PointInput],
    label_offset: int,
) -> tuple[list[str], list[tuple[PointInput, AccessPoint | None]]]:
    """Validate point inputs as a whole; returns the problems and the resolved places."""
    problems: list[str] = []
    resolved: list[tuple[PointInput, AccessPoint | None]] = []
    place_numbers = [clean_digits(item.access_point_number) for item in inputs]
    access_points = {
        access_point.number: access_point
        for access_point in AccessPoint.objects.filter(
            unit_scope(user=actor, unit_field="area__unit"),
            number__in=[number for number in place_numbers if number],
        ).select_related("area")
    }
    by_nearby = nearby_resolve(
        numbers=[clean_digits(item.nearby_number) for item in inputs if item.nearby_number]
    )
    requested_numbers = [clean_digits(item.account_number) for item in inputs]
    taken = set(
        Point.objects.filter(
            account_number__in=[number for number in requested_numbers if number]
        ).values_list("account_number", flat=True)
    )
    retired = set(
        RetiredAccountNumber.objects.filter(
            number__in=[number for number in requested_numbers if number]
        ).values_list("number", flat=True)
    )
    seen: set[str] = set()
    for index, item in enumerate(inputs):
        where = _("第 %(row)d 个用电点") % {"row": index + label_offset}
        account_number = requested_numbers[index]
        if not clean_text(item.name):
            problems.append(_("%(where)s：户名不能为空。") % {"where": where})
        if not clean_text(item.device_address):
            problems.append(_("%(where)s：设备地址不能为空。") % {"where": where})
        if account_number:
            if not is_digits(account_number, 10):
                problems.append(
                    _("%(where)s：户号应为 10 位数字，“%(number)s”不是。")
                    % {"where": where, "number": account_number}
                )
            elif account_number in taken or account_number in seen:
                problems.append(
                    _("%(where)s：户号 %(number)s 已被使用，户号不能重复。")
                    % {"where": where, "number": account_number}
                )
            elif account_number in retired:
                problems.append(
                    _("%(where)s：户号 %(number)s 已随撤销的工单作废，不能再使用。")
                    % {"where": where, "number": account_number}
                )
            seen.add(account_number)
        access_point: AccessPoint | None = None
        place_number = place_numbers[index]
        if place_number:
            problem = access_point_number_problem(place_number)
            if problem:
                problems.append(f"{where}：{problem}")
            elif place_number not in access_points:
                problems.append(
                    _("%(where)s：接入点 %(number)s 不存在或不属于您的单位。")
                    % {"where": where, "number": place_number}
                )
            else:
                access_point = access_points[place_number]
        elif item.nearby_number:
            access_point = by_nearby.get(clean_digits(item.nearby_number))
        if item.active_from_date is not None and access_point is None and not place_number:
            problems.append(
                _("%(where)s：没有接入点和台区的用电点不能接电（启用）。") % {"where": where}
            )
        resolved.append((item, access_point))
    return problems, resolved


def _check_limit(
    *,
    group: Group,
    new_intervals: Sequence[tuple[dt.date, dt.date | None]],
    excluding_point_ids: Sequence[int] = (),
) -> str | None:
    if not new_intervals:
        return None
    limit = settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS
    existing = [
        (start, end)
        for start, end in Point.objects.filter(
            group=group, kind=PointKind.SUB, active_from_date__isnull=False
        )
        .exclude(pk__in=list(excluding_point_ids))
        .values_list("active_from_date", "active_to_date")
        if start is not None
    ]
    earliest = min(start for start, _end in new_intervals)
    peak, peak_day = max_concurrent([*existing, *new_intervals], from_date=earliest)
    if peak > limit:
        return _(
            "群组在 %(day)s 将有 %(count)d 个在用虚拟子户，超过上限 %(limit)d 个；"
            "超出部分请申请新的参考表（新群组）。"
        ) % {"day": _text(peak_day), "count": peak, "limit": limit}
    return None


def group_create(
    *,
    actor: User,
    unit: SupplyUnit,
    customer: Customer,
    device_type: DeviceType,
    meter_asset_number: str,
    meter_install_date: dt.date,
    created_date: dt.date,
    base: PointInput,
    now: dt.datetime,
    tariff_code: str = "",
    meter_barcode: str = "",
    meter_box_resource_number: str = "",
    ct_ratio: int = 1,
    reason: str = "",
    work_order: str = "",
) -> Group:
    """A new group with its base account (the point with the reference meter)."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    _require_unit(actor, unit)
    problems: list[str] = []
    if customer.unit_id != unit.pk:
        problems.append(_("客户与群组必须属于同一供电单位。"))
    meter_asset_number = clean_digits(meter_asset_number)
    if not meter_asset_number:
        problems.append(_("参考表资产编号不能为空。"))
    elif Group.objects.filter(meter_asset_number=meter_asset_number).exists():
        problems.append(_("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter_asset_number})
    if ct_ratio < 1:
        problems.append(_("互感器倍率必须是正整数。"))
    point_problems, resolved = _check_points(actor=actor, inputs=[base], label_offset=1)
    problems.extend(point_problems)
    if problems:
        raise UnableToCreateGroup(problems)
    item, access_point = resolved[0]
    with transaction.atomic():
        group = Group.objects.create(
            unit=unit,
            customer=customer,
            device_type=device_type,
            tariff_code=clean_text(tariff_code),
            meter_asset_number=meter_asset_number,
            meter_barcode=clean_text(meter_barcode),
            meter_box_resource_number=clean_text(meter_box_resource_number),
            ct_ratio=ct_ratio,
            meter_install_date=meter_install_date,
            created_date=created_date,
        )
        GroupTerms.objects.create(
            group=group, from_date=created_date, ct_ratio=ct_ratio, tariff_code=group.tariff_code
        )
        account_number = (
            clean_digits(item.account_number) or account_numbers_issue(unit=unit, count=1)[0]
        )
        point = Point.objects.create(
            group=group,
            kind=PointKind.BASE,
            account_number=account_number,
            name=clean_text(item.name),
            device_address=clean_text(item.device_address),
            nearby_number=clean_digits(item.nearby_number),
            access_point=access_point,
            area=access_point.area if access_point else None,
            status=PointStatus.ACTIVE if item.active_from_date else PointStatus.PENDING,
            active_from_date=item.active_from_date,
        )
        _placements_open([point])
        audit_record_many(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            changes=[
                AuditChange(
                    action="group.create",
                    subject_type="group",
                    subject_id=group.pk,
                    subject_label=f"{account_number} {customer.name}",
                    after={
                        "customer": customer.name,
                        "device_type": device_type.name,
                        "meter_asset_number": meter_asset_number,
                        "ct_ratio": str(ct_ratio),
                        "created_date": _text(created_date),
                    },
                ),
                _point_change("point.create", point, {}, _point_snapshot(point)),
            ],
        )
    return group


def _running_group(*, actor: User, group_id: int) -> Group:
    group = (
        Group.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor), pk=group_id)
        .select_related("unit")
        .first()
    )
    if group is None:
        raise RecordNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    return group


def sub_accounts_add(
    *,
    actor: User,
    group_id: int,
    points: Sequence[PointInput],
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
) -> list[Point]:
    """Register sub-accounts in a group, all or none; those with a date become active."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        group = _running_group(actor=actor, group_id=group_id)
        if group.status != GroupStatus.RUNNING:
            raise UnableToAddSubAccounts(_("群组已销户，不能新增虚拟子户。"))
        problems, resolved = _check_points(actor=actor, inputs=points, label_offset=1)
        limit_problem = _check_limit(
            group=group,
            new_intervals=[
                (item.active_from_date, None) for item in points if item.active_from_date
            ],
        )
        if limit_problem:
            problems.append(limit_problem)
        if problems:
            raise UnableToAddSubAccounts(problems)
        fresh_numbers = iter(
            account_numbers_issue(
                unit=group.unit,
                count=sum(1 for item in points if not clean_digits(item.account_number)),
            )
        )
        created = [
            Point(
                group=group,
                kind=PointKind.SUB,
                account_number=clean_digits(item.account_number) or next(fresh_numbers),
                name=clean_text(item.name),
                device_address=clean_text(item.device_address),
                nearby_number=clean_digits(item.nearby_number),
                access_point=access_point,
                area=access_point.area if access_point else None,
                status=PointStatus.ACTIVE if item.active_from_date else PointStatus.PENDING,
                active_from_date=item.active_from_date,
            )
            for item, access_point in resolved
        ]
        try:
            created = Point.objects.bulk_create(created, batch_size=1000)
        except IntegrityError as error:
            raise UnableToAddSubAccounts(_("户号冲突，请重试。")) from error
        if created and created[0].pk is None:
            # Databases that do not return keys from a bulk insert.
            numbers = [point.account_number for point in created]
            created = list(Point.objects.filter(account_number__in=numbers).order_by("pk"))
        _placements_open(created)
        audit_record_many(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            changes=[
                _point_change("point.create", point, {}, _point_snapshot(point))
                for point in created
            ],
        )
    return created


def _locked_point(*, actor: User, point_id: int) -> Point:
    point = (
        Point.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor, unit_field="group__unit"), pk=point_id)
        .select_related("group", "access_point", "area")
        .first()
    )
    if point is None:
        raise RecordNotVisible(_("未找到该用电点，或它不属于您所在单位及下属单位。"))
    return point


def sub_account_activate(
    *,
    actor: User,
    point_id: int,
    active_from_date: dt.date,
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
    expected_version: int | None = None,
) -> Point:
    """A registered sub-account starts drawing power (connection / installation date)."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        point = _locked_point(actor=actor, point_id=point_id)
        _require_version(point, expected_version)
        Group.objects.select_for_update().filter(pk=point.group_id).first()
        problems = []
        if point.kind != PointKind.SUB:
            problems.append(_("只有虚拟子户可以单独接电；基准户随群组立户。"))
        if point.status != PointStatus.PENDING:
            problems.append(
                _("户号 %(number)s 当前状态为“%(status)s”，不能接电。")
                % {"number": point.account_number, "status": point.get_status_display()}
            )
        if point.access_point_id is None or point.area_id is None:
            problems.append(
                _("户号 %(number)s 还没有接入点和台区，不能接电。")
                % {"number": point.account_number}
            )
        if point.group.status != GroupStatus.RUNNING:
            problems.append(_("群组已销户。"))
        limit_problem = _check_limit(group=point.group, new_intervals=[(active_from_date, None)])
        if limit_problem:
            problems.append(limit_problem)
        if problems:
            raise UnableToActivateSubAccount(problems)
        before = _point_snapshot(point)
        point.status = PointStatus.ACTIVE
        point.active_from_date = active_from_date
        point.save(update_fields=["status", "active_from_date"])
        _bump(point)
        _placements_open([point])
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            change=_point_change("point.activate", point, before, _point_snapshot(point)),
        )
    return point


def sub_account_cancel(
    *,
    actor: User,
    point_id: int,
    active_to_date: dt.date,
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
    expected_version: int | None = None,
) -> Point:
    """A sub-account stops: it is active up to, not including, ``active_to_date``."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        point = _locked_point(actor=actor, point_id=point_id)
        _require_version(point, expected_version)
        if point.kind != PointKind.SUB:
            raise UnableToCancelSubAccount(_("基准户不能单独取消；请通过销户流程关闭整个群组。"))
        if point.status == PointStatus.CANCELLED:
            raise UnableToCancelSubAccount(
                _("户号 %(number)s 已经取消。") % {"number": point.account_number}
            )
        if point.active_from_date is not None and active_to_date <= point.active_from_date:
            raise UnableToCancelSubAccount(
                _("停用日期 %(to)s 必须晚于接电日期 %(from)s。")
                % {"to": _text(active_to_date), "from": _text(point.active_from_date)}
            )
        before = _point_snapshot(point)
        point.status = PointStatus.CANCELLED
        if point.active_from_date is not None:
            point.active_to_date = active_to_date
        point.save(update_fields=["status", "active_to_date"])
        _bump(point)
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            change=_point_change("point.cancel", point, before, _point_snapshot(point)),
        )
    return point


def point_update(
    *,
    actor: User,
    point_id: int,
    now: dt.datetime,
    reason: str,
    work_order: str = "",
    name: str | None = None,
    device_address: str | None = None,
    area_number: str | None = None,
    access_point_number: str | None = None,
    effective_date: dt.date | None = None,
    expected_version: int | None = None,
) -> Point:
    """Edit a point's name, device address, transformer area and access point.

    The access point decides the area: an area given with it must be the
    access point's own. A move takes effect on ``effective_date`` (default: the
    day of ``now``), so line loss counts each part of the month in its own area.
    With ``expected_version`` the edit is refused if the point has been saved since
    that version was read.
    """
    require(user=actor, action=Action.EDIT_SUB_ACCOUNT)
    with transaction.atomic():
        point = _locked_point(actor=actor, point_id=point_id)
        _require_version(point, expected_version)
        problems: list[str] = []
        if point.group.status != GroupStatus.RUNNING or point.status == PointStatus.CANCELLED:
            problems.append(_("已销户或已取消的用电点不能修改。"))
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = clean_text(name)
            if not values["name"]:
                problems.append(FieldProblem(_("户名不能为空。"), field="name"))
        if device_address is not None:
            values["device_address"] = clean_text(device_address)
            if not values["device_address"]:
                problems.append(FieldProblem(_("设备地址不能为空。"), field="device_address"))
        area: TransformerArea | None = point.area
        access_point: AccessPoint | None = point.access_point
        if access_point_number is not None:
            if not clean_digits(access_point_number):
                if point.status == PointStatus.ACTIVE:
                    problems.append(
                        FieldProblem(_("在用的用电点必须有接入点。"), field="access_point_number")
                    )
                access_point = None
            else:
                access_point, problem = access_point_lookup(user=actor, number=access_point_number)
                if problem:
                    problems.append(FieldProblem(problem, field="access_point_number"))
        if area_number is not None:
            number = clean_digits(area_number)
            area = (
                TransformerArea.objects.filter(unit_scope(user=actor), number=number).first()
                if number
                else None
            )
            if number and area is None:
                problems.append(
                    FieldProblem(
                        _("台区 %(number)s 不存在或不属于您的单位。") % {"number": number},
                        field="area_number",
                    )
                )
            if not number and point.status == PointStatus.ACTIVE:
                problems.append(FieldProblem(_("在用的用电点必须有台区。"), field="area_number"))
        if access_point is not None and not problems:
            if area_number is not None and area is not None and access_point.area_id != area.pk:
                problems.append(
                    _("接入点 %(point)s 属于台区 %(actual)s，不属于台区 %(area)s。")
                    % {
                        "point": access_point.number,
                        "actual": access_point.area.number,
                        "area": area.number,
                    }
                )
            area = access_point.area
        if not clean_text(reason):
            problems.append(FieldProblem(_("请填写修改原因。"), field="reason"))
        if problems:
            raise UnableToUpdatePoint(problems)
        before = _point_snapshot(point)
        for field, value in values.items():
            setattr(point, field, value)
        point.access_point = access_point
        point.area = area
        after = _point_snapshot(point)
        if after == before:
            return point
        point.save(update_fields=[*values.keys(), "access_point", "area"])
        _bump(point)
        if (before["area"], before["access_point"]) != (after["area"], after["access_point"]):
            _placement_move(point, effective_date=effective_date or timezone.localdate(now))
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=clean_text(reason),
            work_order=work_order,
            change=_point_change("point.update", point, before, after),
        )
    return point


class UnableToCloseGroup(UnableToChangeRegistry):
    pass


class UnableToUpdateGroup(UnableToChangeRegistry):
    pass


def group_close(
    *,
    actor: User,
    group_id: int,
    closure_date: dt.date,
    now: dt.datetime,
    reason: str = "",
    work_order: str = "",
    expected_version: int | None = None,
) -> Group:
    """Close the base account and every sub-account on ``closure_date``; the group is dissolved
    and a final-bill request is recorded for billing."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    with transaction.atomic():
        group = _running_group(actor=actor, group_id=group_id)
        _require_version(group, expected_version)
        if group.status != GroupStatus.RUNNING:
            raise UnableToCloseGroup(_("群组已经销户。"))
        points = list(
            Point.objects.select_for_update(of=("self",))
            .filter(group=group)
            .exclude(status=PointStatus.CANCELLED)
            .select_related("access_point", "area")
        )
        late = [
            point.account_number
            for point in points
            if point.active_from_date is not None and point.active_from_date >= closure_date
        ]
        if late:
            raise UnableToCloseGroup(
                _("销户日期 %(day)s 必须晚于所有用电点的接电日期（%(points)s）。")
                % {"day": _text(closure_date), "points": "、".join(late[:10])}
            )
        changes = []
        for point in points:
            before = _point_snapshot(point)
            point.status = PointStatus.CANCELLED
            if point.active_from_date is not None:
                point.active_to_date = closure_date
            changes.append(_point_change("point.close", point, before, _point_snapshot(point)))
        Point.objects.bulk_update(points, ["status", "active_to_date"], batch_size=1000)
        # The points are locked: each one's version goes up by one.
        Point.objects.filter(pk__in=[point.pk for point in points]).update(version=F("version") + 1)
        for point in points:
            point.version += 1
        group.status = GroupStatus.CLOSED
        group.closed_date = closure_date
        group.save(update_fields=["status", "closed_date"])
        _bump(group)
        FinalBillRequest.objects.create(
            group=group, closure_date=closure_date, requested_at=now, work_order=work_order
        )
        changes.append(
            AuditChange(
                action="group.close",
                subject_type="group",
                subject_id=group.pk,
                subject_label=group.meter_asset_number,
                before={"status": GroupStatus.RUNNING},
                after={"status": GroupStatus.CLOSED, "closed_date": _text(closure_date)},
            )
        )
        audit_record_many(
            actor=actor, occurred_at=now, reason=reason, work_order=work_order, changes=changes
        )
    return group


GROUP_EDITABLE_FIELDS = (
    "tariff_code",
    "meter_asset_number",
    "meter_barcode",
    "meter_box_resource_number",
    "ct_ratio",
    "meter_install_date",
)


def group_update(
    *,
    actor: User,
    group_id: int,
    now: dt.datetime,
    reason: str,
    work_order: str = "",
    terms_from_date: dt.date | None = None,
    expected_version: int | None = None,
    **values: Any,
) -> Group:
    """Change the reference meter's data or the tariff of a running group.

    A new CT ratio or tariff code holds from ``terms_from_date`` on and is kept as history
    (``GroupTerms``): billing uses the old values for the days before it. With
    ``expected_version`` the change is refused if the group has been saved since."""
    if not work_order:
        require(user=actor, action=Action.MANAGE_REGISTRY)
    unknown = set(values) - set(GROUP_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        group = _running_group(actor=actor, group_id=group_id)
        _require_version(group, expected_version)
        problems = []
        if group.status != GroupStatus.RUNNING:
            problems.append(_("群组已销户。"))
        meter = values.get("meter_asset_number")
        if meter is not None:
            meter = clean_digits(meter)
            values["meter_asset_number"] = meter
            if not meter:
                problems.append(_("参考表资产编号不能为空。"))
            elif Group.objects.filter(meter_asset_number=meter).exclude(pk=group.pk).exists():
                problems.append(_("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter})
        if values.get("ct_ratio") is not None and int(values["ct_ratio"]) < 1:
            problems.append(_("互感器倍率必须是正整数。"))
        if "tariff_code" in values:
            values["tariff_code"] = clean_text(values["tariff_code"])
        before = {field: _text(getattr(group, field)) for field in values}
        # A dated change is compared with what held on its date, not with today's values.
        held = _terms_on(group, terms_from_date) if terms_from_date else None
        if held is not None:
            before.update(
                {field: _text(getattr(held, field)) for field in TERMS_FIELDS if field in values}
            )
        terms_changed = [
            field
            for field in TERMS_FIELDS
            if field in values and _text(values[field]) != before[field]
        ]
        today = timezone.localtime(now).date()
        if terms_changed and terms_from_date is None:
            problems.append(_("变更互感器倍率或电价代码须填写执行日期。"))
        elif terms_changed and terms_from_date and terms_from_date < group.created_date:
            problems.append(
                _("执行日期不能早于立户日期 %(day)s。") % {"day": group.created_date.isoformat()}
            )
        elif terms_changed and terms_from_date and terms_from_date > today:
            problems.append(
                _("执行日期不能晚于今天（%(today)s）：请在生效后再登记。")
                % {"today": today.isoformat()}
            )
        if problems:
            raise UnableToUpdateGroup(problems)
        for field, value in values.items():
            setattr(group, field, value)
        after = {field: _text(getattr(group, field)) for field in values}
        changed = [field for field in values if before[field] != after[field]]
        if not changed:
            return group
        if terms_changed:
            assert terms_from_date is not None
            changed += _terms_change(group=group, values=values, from_date=terms_from_date)
            after["terms_from_date"] = _text(terms_from_date)
        group.save(update_fields=sorted(set(changed) - {"terms_from_date"}))
        _bump(group)
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=reason,
            work_order=work_order,
            change=AuditChange(
                action="group.update",
                subject_type="group",
                subject_id=group.pk,
                subject_label=group.meter_asset_number,
                before={field: before[field] for field in changed if field in before},
                after={
                    field: after[field]
                    for field in after
                    if field in changed or field == "terms_from_date"
                },
            ),
        )
    return group


TERMS_FIELDS = ("ct_ratio", "tariff_code")


def _terms_on(group: Group, day: dt.date) -> GroupTerms | None:
    return GroupTerms.objects.filter(group=group, from_date__lte=day).order_by("-from_date").first()


def _terms_change(*, group: Group, values: dict[str, Any], from_date: dt.date) -> list[str]:
    """Record the CT ratio and tariff code from ``from_date`` on; the group keeps the
    latest row's values. Returns the group fields that this changed."""
    rows = list(GroupTerms.objects.filter(group=group).order_by("from_date"))
    in_force = next((row for row in reversed(rows) if row.from_date <= from_date), None)
    ct_ratio = int(values.get("ct_ratio", in_force.ct_ratio if in_force else group.ct_ratio))
    tariff_code = values.get("tariff_code", in_force.tariff_code if in_force else group.tariff_code)
    GroupTerms.objects.update_or_create(
        group=group,
        from_date=from_date,
        defaults={"ct_ratio": ct_ratio, "tariff_code": tariff_code},
    )
    latest = GroupTerms.objects.filter(group=group).order_by("-from_date").first()
    assert latest is not None
    group.ct_ratio, group.tariff_code = latest.ct_ratio, latest.tariff_code
    return ["ct_ratio", "tariff_code"]
