"""groups_load writes what group_create, sub_accounts_add and sub_account_cancel write,
row for row and entry for entry, and refuses what they refuse, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from refmeter.audit.models import AuditEntry
from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.registry.models import Group, GroupTerms, Point, PointPlacement
from refmeter.registry.services import (
    PointInput,
    group_create,
    sub_account_cancel,
    sub_accounts_add,
)
from refmeter.registry.services.loads import NewGroup, UnableToLoadGroups, groups_load
from tests import factories
from tests.factories import NOW

START = dt.date(2019, 3, 1)


@pytest.fixture
def world(db):
    unit = factories.unit(code="33501", prefix="17")
    actor = factories.user(unit=unit)
    area = factories.area(actor=actor, unit=unit)
    places = [factories.access_point(actor=actor, area=area) for _index in range(3)]
    return {
        "unit": unit,
        "actor": actor,
        "places": places,
        "customers": [factories.customer(actor=actor, unit=unit) for _index in range(2)],
        "device": factories.device_type(actor=actor),
    }


def _specs(world, *, groups: int, points: int) -> list[NewGroup]:
    places = world["places"]
    specs = []
    number = 1000
    for index in range(groups):
        number += 1
        base = f"17{number:08d}"
        subs = []
        stopped = {}
        for position in range(points):
            number += 1
            account = f"17{number:08d}"
            pending = index == 0 and position == points - 1
            subs.append(
                PointInput(
                    name=f"点位{index}-{position}",
                    device_address=f" 城南街道{index}号{position}幢 ",
                    nearby_number="" if position % 3 else f"55{number:06d}",
                    access_point_number="" if pending else places[position % 3].number,
                    account_number=account,
                    active_from_date=None if pending else START + dt.timedelta(days=position % 40),
                )
            )
            if position % 7 == 3:
                stopped[account] = START + dt.timedelta(days=200 + position)
        specs.append(
            NewGroup(
                unit=world["unit"],
                customer=world["customers"][index % 2],
                device_type=world["device"],
                meter_asset_number=f"3310{index:09d}",
                meter_install_date=START,
                created_date=START - dt.timedelta(days=index),
                tariff_code="LV" if index % 2 else "",
                meter_barcode=f"B{index}",
                ct_ratio=1 + index % 3,
                base=PointInput(
                    name=f"基准户{index}",
                    device_address=f"城南街道{index}号",
                    access_point_number=places[index % 3].number,
                    account_number=base,
                    active_from_date=START,
                ),
                points=subs,
                stopped=stopped,
            )
        )
    return specs


def _through_the_services(actor, specs: list[NewGroup]) -> None:
    for spec in specs:
        group = group_create(
            actor=actor, unit=spec.unit, customer=spec.customer, device_type=spec.device_type,
            meter_asset_number=spec.meter_asset_number,
            meter_install_date=spec.meter_install_date, created_date=spec.created_date,
            base=spec.base, now=NOW, tariff_code=spec.tariff_code,
            meter_barcode=spec.meter_barcode,
            meter_box_resource_number=spec.meter_box_resource_number, ct_ratio=spec.ct_ratio,
            reason="存量",
        )  # fmt: skip
        created = sub_accounts_add(
            actor=actor, group_id=group.pk, points=spec.points, now=NOW, reason="存量"
        )
        for point in created:
            if point.account_number in spec.stopped:
                sub_account_cancel(
                    actor=actor, point_id=point.pk,
                    active_to_date=spec.stopped[point.account_number], now=NOW, reason="存量",
                )  # fmt: skip


def _written() -> dict[str, list]:
    """Everything the registry and the audit trail hold, without the ids."""
    meters = dict(Group.objects.values_list("pk", "meter_asset_number"))
    accounts = dict(Point.objects.values_list("pk", "account_number"))
    natural = {"group": meters, "point": accounts}

    def key(kind: str, pk):
        return natural.get(kind, {}).get(pk, pk)

    return {
        "groups": sorted(
            Group.objects.values_list(
                "meter_asset_number",
                "unit_id",
                "customer_id",
                "device_type_id",
                "tariff_code",
                "meter_barcode",
                "meter_box_resource_number",
                "ct_ratio",
                "meter_install_date",
                "created_date",
                "status",
                "closed_date",
                "version",
            )
        ),
        "terms": sorted(
            (meters[group], day, ratio, tariff)
            for group, day, ratio, tariff in GroupTerms.objects.values_list(
                "group_id", "from_date", "ct_ratio", "tariff_code"
            )
        ),
        "points": sorted(
            (meters[row[0]], *row[1:])
            for row in Point.objects.values_list(
                "group_id",
                "account_number",
                "kind",
                "name",
                "device_address",
                "nearby_number",
                "access_point_id",
                "area_id",
                "status",
                "active_from_date",
                "active_to_date",
                "version",
            )
        ),
        "placements": sorted(
            (accounts[point], *rest)
            for point, *rest in PointPlacement.objects.values_list(
                "point_id", "area_id", "access_point_id", "from_date", "to_date"
            )
        ),
        "audit": [
            (
                entry["action"],
                entry["subject_type"],
                key(entry["subject_type"], entry["subject_id"]),
                entry["subject_label"],
                entry["parent_type"],
                key(entry["parent_type"], entry["parent_id"]),
                entry["before"],
                entry["after"],
                entry["reason"],
                entry["actor_name"],
            )
            for entry in AuditEntry.objects.filter(
                action__in=["group.create", "point.create", "point.cancel"]
            )
            .order_by("pk")
            .values()
        ],
    }


class _Undo(Exception):
    pass


@pytest.mark.parametrize(
    ("groups", "points"),
    # a few rows (bulk inserts), and enough for COPY on PostgreSQL (points and audit)
    [(3, 9), (12, 100)],
)
def test_the_same_rows_and_entries_as_the_services(world, groups, points):
    specs = _specs(world, groups=groups, points=points)
    with pytest.raises(_Undo), transaction.atomic():
        _through_the_services(world["actor"], specs)
        expected = _written()
        raise _Undo
    assert Point.objects.count() == 0

    loaded = groups_load(actor=world["actor"], groups=specs, now=NOW, reason="存量")

    assert len(loaded) == groups
    found = _written()
    assert len(found["points"]) == groups * (points + 1)
    assert any(row[8] == "cancelled" for row in found["points"])
    assert any(row[8] == "pending" for row in found["points"])
    for part in expected:
        assert found[part] == expected[part], part


def test_refused_groups_are_named_and_nothing_is_written(world):
    specs = _specs(world, groups=3, points=4)
    taken = specs[1].points[0].account_number
    factories.group(actor=world["actor"], unit=world["unit"], place=world["places"][0])
    Point.objects.filter(kind="base").update(account_number=taken)
    clash = NewGroup(**{**specs[2].__dict__, "meter_asset_number": specs[0].meter_asset_number})
    before = (Group.objects.count(), Point.objects.count(), AuditEntry.objects.count())

    with pytest.raises(UnableToLoadGroups) as refused:
        groups_load(actor=world["actor"], groups=[specs[0], specs[1], clash], now=NOW)

    assert sorted(refused.value.by_group) == [1, 2]
    assert refused.value.by_group[1] == [f"第 1 个用电点：户号 {taken} 已被使用，户号不能重复。"]
    assert refused.value.by_group[2] == [f"参考表 {specs[0].meter_asset_number} 已属于另一个群组。"]
    assert (Group.objects.count(), Point.objects.count(), AuditEntry.objects.count()) == before


def test_the_sub_account_limit_holds_per_group(world, settings):
    settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = 3
    specs = _specs(world, groups=1, points=5)

    with pytest.raises(UnableToLoadGroups) as refused:
        groups_load(actor=world["actor"], groups=specs, now=NOW)

    assert "超过上限 3 个" in refused.value.by_group[0][0]
    assert Group.objects.count() == 0


def test_only_who_may_manage_the_registry(world):
    field_worker = factories.user(unit=world["unit"], role=Role.FIELD_STAFF)
    with pytest.raises(ActionNotAllowed):
        groups_load(actor=field_worker, groups=_specs(world, groups=1, points=1), now=NOW)
    assert Group.objects.count() == 0
