"""What the registry's writes share: the refusals, version checks, audit snapshots and placements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange
from refmeter.common.versions import Meanwhile, stale_version_problems
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.selectors import unit_is_visible
from refmeter.registry.models import Group, Point, PointPlacement
from refmeter.registry.selectors import RecordNotVisible, changes_since


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
