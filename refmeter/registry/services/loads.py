"""Loading whole groups at once: a utility's running groups, when it goes live.

``groups_load`` registers many new groups with their base accounts and sub-accounts as
one set: it checks them with the same rules and messages as ``group_create`` and
``sub_accounts_add`` (a few queries for the whole batch, not a round per group), then
writes groups, terms, points, placements and audit entries set-based, all or none. The
rows it leaves are the rows those services leave, entry for entry: a sub-account that
has already stopped is written cancelled with the create and cancel entries that
``sub_account_cancel`` would have added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record_set
from refmeter.common.bulk import copy_rows, insert_values, lookup_batches, use_copy
from refmeter.common.text import clean_digits, clean_text
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    DeviceType,
    Group,
    GroupTerms,
    Point,
    PointKind,
    PointPlacement,
    PointStatus,
)
from refmeter.registry.selectors import PlaceRef, max_concurrent
from refmeter.registry.services.base import (
    UnableToChangeRegistry,
    _require_unit,
    _text,
)
from refmeter.registry.services.groups import PointInput, check_point_inputs

# An access point with its area, as a model or as read for a load.
Place = AccessPoint | PlaceRef


@dataclass(frozen=True)
class NewGroup:
    """One group to register, as ``group_create`` takes it, with its sub-accounts;
    ``stopped`` gives the stop date (停用日期) of sub-accounts that have been cancelled."""

    unit: SupplyUnit
    customer: Customer
    device_type: DeviceType
    meter_asset_number: str
    meter_install_date: dt.date
    created_date: dt.date
    base: PointInput
    points: Sequence[PointInput] = ()
    stopped: Mapping[str, dt.date] = field(default_factory=dict)
    tariff_code: str = ""
    meter_barcode: str = ""
    meter_box_resource_number: str = ""
    ct_ratio: int = 1


class UnableToLoadGroups(UnableToChangeRegistry):
    """``by_group`` maps the index of each refused group to its problems."""

    def __init__(self, by_group: dict[int, list[str]]):
        self.by_group = by_group
        super().__init__([problem for index in sorted(by_group) for problem in by_group[index]])


def _group_problems(
    *, actor: User, groups: Sequence[NewGroup], places: Mapping[str, Place] | None
) -> tuple[dict[int, list[str]], list[list[Place | None]]]:
    """What ``group_create`` and ``sub_accounts_add`` would refuse, group by group."""
    by_group: dict[int, list[str]] = {}
    meters = [clean_digits(group.meter_asset_number) for group in groups]
    used: set[str] = set()
    for batch in lookup_batches(meter for meter in meters if meter):
        used.update(
            Group.objects.filter(meter_asset_number__any_of=batch).values_list(
                "meter_asset_number", flat=True
            )
        )
    # Every point of the batch is checked at once: an account number may not repeat
    # anywhere in it, as it may not repeat in the registry.
    inputs = [item for group in groups for item in (group.base, *group.points)]
    owners: list[tuple[int, int]] = [
        (index, position)
        for index, group in enumerate(groups)
        for position in range(1 + len(group.points))
    ]

    def where(flat: int) -> str:
        # The label each service gives: the base is the first point of group_create,
        # the sub-accounts are counted from one by sub_accounts_add.
        _group, position = owners[flat]
        return _("第 %(row)d 个用电点") % {"row": max(position, 1)}

    point_problems, resolved = check_point_inputs(
        actor=actor, inputs=inputs, where=where, places=places
    )
    per_group: list[list[Place | None]] = [[] for _group in groups]
    for flat, (index, _position) in enumerate(owners):
        per_group[index].append(resolved[flat])
    limit = settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS
    seen_meters: set[str] = set()
    offset = 0
    for index, group in enumerate(groups):
        problems: list[str] = []
        if group.customer.unit_id != group.unit.pk:
            problems.append(_("客户与群组必须属于同一供电单位。"))
        meter = meters[index]
        if not meter:
            problems.append(_("参考表资产编号不能为空。"))
        elif meter in used or meter in seen_meters:
            problems.append(_("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter})
        seen_meters.add(meter)
        if group.ct_ratio < 1:
            problems.append(_("互感器倍率必须是正整数。"))
        count = 1 + len(group.points)
        problems.extend(chain.from_iterable(point_problems[offset : offset + count]))
        offset += count
        starts = [(item.active_from_date, None) for item in group.points if item.active_from_date]
        if starts:
            peak, peak_day = max_concurrent(starts, from_date=min(day for day, _end in starts))
            if peak > limit:
                problems.append(
                    _(
                        "群组在 %(day)s 将有 %(count)d 个在用虚拟子户，超过上限 %(limit)d 个；"
                        "超出部分请申请新的参考表（新群组）。"
                    )
                    % {"day": _text(peak_day), "count": peak, "limit": limit}
                )
        for item in group.points:
            stop = group.stopped.get(clean_digits(item.account_number))
            if (
                stop is not None
                and item.active_from_date is not None
                and (stop <= item.active_from_date)
            ):
                problems.append(
                    _("停用日期 %(to)s 必须晚于接电日期 %(from)s。")
                    % {"to": _text(stop), "from": _text(item.active_from_date)}
                )
        if problems:
            by_group[index] = problems
    return by_group, per_group


def groups_load(
    *,
    actor: User,
    groups: Sequence[NewGroup],
    now: dt.datetime,
    reason: str = "",
    places: Mapping[str, Place] | None = None,
) -> list[Group]:
    """Register the groups, all or none (UnableToLoadGroups names each refused group).
    ``places``: access points with their areas that the caller has read within the
    actor's scope (the others are looked up)."""
    require(user=actor, action=Action.MANAGE_REGISTRY)
    if not groups:
        return []
    for unit in {group.unit.pk: group.unit for group in groups}.values():
        _require_unit(actor, unit)
    with transaction.atomic():
        by_group, resolved = _group_problems(actor=actor, groups=groups, places=places)
        if by_group:
            raise UnableToLoadGroups(by_group)
        try:
            return _write(actor=actor, groups=groups, places=resolved, now=now, reason=reason)
        except IntegrityError as error:
            # Someone registered one of these numbers or meters since the check.
            raise UnableToLoadGroups({0: [_("户号冲突，请重试。")]}) from error


class _PointRow(NamedTuple):
    """One point as written: the Point attributes of its columns (the first is unique)."""

    account_number: str
    group_id: int
    kind: str
    name: str
    device_address: str
    nearby_number: str
    access_point_id: int | None
    area_id: int | None
    status: str
    active_from_date: dt.date | None
    active_to_date: dt.date | None
    version: int


def _write(
    *,
    actor: User,
    groups: Sequence[NewGroup],
    places: list[list[Place | None]],
    now: dt.datetime,
    reason: str,
) -> list[Group]:
    created = [
        Group(
            unit=group.unit,
            customer=group.customer,
            device_type=group.device_type,
            tariff_code=clean_text(group.tariff_code),
            meter_asset_number=clean_digits(group.meter_asset_number),
            meter_barcode=clean_text(group.meter_barcode),
            meter_box_resource_number=clean_text(group.meter_box_resource_number),
            ct_ratio=group.ct_ratio,
            meter_install_date=group.meter_install_date,
            created_date=group.created_date,
        )
        for group in groups
    ]
    created = Group.objects.bulk_create(created, batch_size=1000)
    if created[0].pk is None:
        # Databases that do not return keys from a bulk insert.
        ids = dict(
            Group.objects.filter(
                meter_asset_number__in=[group.meter_asset_number for group in created]
            ).values_list("meter_asset_number", "pk")
        )
        for group in created:
            group.pk = ids[group.meter_asset_number]
    GroupTerms.objects.bulk_create(
        [
            GroupTerms(
                group=group,
                from_date=group.created_date,
                ct_ratio=group.ct_ratio,
                tariff_code=group.tariff_code,
            )
            for group in created
        ],
        batch_size=1000,
    )
    rows: list[_PointRow] = []
    # each point row's place, in the order of the rows
    row_places: list[Place | None] = []
    for group, spec, group_places in zip(created, groups, places, strict=True):
        for position, (item, place) in enumerate(
            zip((spec.base, *spec.points), group_places, strict=True)
        ):
            number = clean_digits(item.account_number)
            stop = spec.stopped.get(number) if position else None
            if stop is not None and item.active_from_date is None:
                stop = None  # sub_account_cancel keeps no stop date on a point never active
            status = PointStatus.ACTIVE if item.active_from_date else PointStatus.PENDING
            if position and number in spec.stopped:
                status = PointStatus.CANCELLED
            row_places.append(place)
            rows.append(
                _PointRow(
                    number,
                    group.pk,
                    PointKind.SUB if position else PointKind.BASE,
                    clean_text(item.name),
                    clean_text(item.device_address),
                    clean_digits(item.nearby_number),
                    place.pk if place else None,
                    place.area_id if place else None,
                    status,
                    item.active_from_date,
                    stop,
                    # sub_account_cancel saves the point once more after its creation
                    2 if status == PointStatus.CANCELLED else 1,
                )
            )
    point_ids = insert_values(Point, _PointRow._fields, rows)  # type: ignore[arg-type]
    # _placements_open: where each point that starts active is connected, from its start
    placements: list[tuple[int, int, int, dt.date]] = []
    for at, place in enumerate(row_places):
        start = rows[at].active_from_date
        if place is not None and start is not None:
            placements.append((point_ids[at], place.area_id, place.pk, start))
    if use_copy(len(placements)):
        copy_rows(
            PointPlacement, ["point_id", "area_id", "access_point_id", "from_date"], placements
        )
    else:
        PointPlacement.objects.bulk_create(
            [
                PointPlacement(
                    point_id=point, area_id=area, access_point_id=access_point, from_date=day
                )
                for point, area, access_point, day in placements
            ],
            batch_size=1000,
        )
    audit_record_set(
        actor=actor,
        occurred_at=now,
        reason=reason,
        changes=_entries(created=created, rows=rows, ids=point_ids, places=row_places),
    )
    return created


def _entries(
    *,
    created: list[Group],
    rows: list[_PointRow],
    ids: list[int],
    places: list[Place | None],
) -> list[AuditChange]:
    """The entries group_create, sub_accounts_add and sub_account_cancel write, in order."""
    groups = {group.pk: group for group in created}
    creates: dict[int, list[AuditChange]] = {group.pk: [] for group in created}
    cancels: dict[int, list[AuditChange]] = {group.pk: [] for group in created}
    heads: dict[int, AuditChange] = {}
    for at, place in enumerate(places):
        row = rows[at]
        group_id = row.group_id
        # _point_snapshot of the point as sub_accounts_add creates it, without a model
        # instance per point (the values are the snapshot's: text, dates as ISO days)
        snapshot = {
            "access_point": place.number if place else "",
            "account_number": row.account_number,
            "active_from_date": _text(row.active_from_date),
            "active_to_date": "",
            "area": place.area_number if place else "",
            "device_address": row.device_address,
            "name": row.name,
            "nearby_number": row.nearby_number,
            "status": PointStatus.ACTIVE if row.active_from_date else PointStatus.PENDING,
        }
        label = f"{row.account_number} {row.name}"
        creates[group_id].append(
            AuditChange(
                action="point.create",
                subject_type="point",
                subject_id=ids[at],
                subject_label=label,
                parent_type="group",
                parent_id=group_id,
                after=snapshot,
            )
        )
        if row.kind == PointKind.BASE:
            group = groups[group_id]
            heads[group_id] = AuditChange(
                action="group.create",
                subject_type="group",
                subject_id=group.pk,
                subject_label=f"{row.account_number} {group.customer.name}",
                after={
                    "customer": group.customer.name,
                    "device_type": group.device_type.name,
                    "meter_asset_number": group.meter_asset_number,
                    "ct_ratio": str(group.ct_ratio),
                    "created_date": _text(group.created_date),
                },
            )
        elif row.status == PointStatus.CANCELLED:
            stopped = {"active_to_date": _text(row.active_to_date), "status": row.status}
            changed = sorted(key for key in stopped if stopped[key] != snapshot[key])
            cancels[group_id].append(
                AuditChange(
                    action="point.cancel",
                    subject_type="point",
                    subject_id=ids[at],
                    subject_label=label,
                    parent_type="group",
                    parent_id=group_id,
                    before={key: snapshot[key] for key in changed},
                    after={key: stopped[key] for key in changed},
                )
            )
    return [
        entry
        for group in created
        for entry in (heads[group.pk], *creates[group.pk], *cancels[group.pk])
    ]
