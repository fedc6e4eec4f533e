"""The nightly scan reads only the new days and keeps each meter's and rule's run state; it
must raise and clear exactly the cases the scan over the whole window raised before."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from refmeter.anomalies.models import AnomalyCase, AnomalyKind, AnomalyRule, ContactSheet
from refmeter.anomalies.selectors import detection
from refmeter.anomalies.services import (
    anomalies_scan,
    contact_sheet_answer,
    contact_sheet_send,
)
from refmeter.anomalies.services import scan as scan_module
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group
from tests import factories
from tests.anomalies.legacy_scan import legacy_scan

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
FIRST = dt.date(2026, 9, 1)
NIGHTS = 60
LATE_METER_FROM = 30  # the night its group is registered
SKIPPED_NIGHT = 36  # no scan that night; the next one reads two new days
LATE_READING = (40, 43)  # meter 5's reading of day 40 comes in on night 43
TUNED_NIGHT = 45  # an administrator tunes the stopped rule


def day(index: int) -> dt.date:
    return FIRST + dt.timedelta(days=index)


def energy(meter: int, index: int) -> Decimal:
    """Each meter's kWh of a day: a steady load, the conditions of every rule coming and
    going on the days below."""
    normal = Decimal("2.0") + Decimal("0.1") * meter + Decimal("0.05") * ((index * 7 + meter) % 5)
    if meter == 0 and 10 <= index <= 16:
        return Decimal(0)  # stopped
    if meter == 3 and 25 <= index <= 33:
        return Decimal(30)  # running fast, and far off its own past and its peers
    if meter == 7 and 35 <= index <= 40:
        return Decimal("0.5")  # a sudden fall
    if meter == 2 and 15 <= index <= 18:
        return Decimal("-0.5")  # the register goes down
    return normal


@dataclass
class World:
    """Nine reference meters of one device type, one registered late."""

    city: Any
    device: Any
    groups: dict[int, Group] = field(default_factory=dict)
    forward: dict[int, Decimal] = field(default_factory=dict)
    reverse: dict[int, Decimal] = field(default_factory=dict)
    held_back: list[MeterReading] = field(default_factory=list)

    def register(self, meter: int, start: dt.date) -> None:
        self.groups[meter] = factories.group(
            actor=self.city.south_admin,
            unit=self.city.south,
            place=self.city.south_place,
            active_from=start,
            device=self.device,
        )
        self.forward[meter] = Decimal(100 + 10 * meter)
        self.reverse[meter] = Decimal(0)

    def reading(self, meter: int, index: int) -> MeterReading:
        self.forward[meter] += energy(meter, index)
        if meter == 1 and 20 <= index <= 26:
            self.reverse[meter] += Decimal("0.5")  # reverse energy grows: wired in reverse
        forward = self.forward[meter]
        if meter == 0 and 40 <= index <= 44:
            forward = Decimal(0)  # reads zero for five days, then its register again
        registers: dict[str, Decimal] = {}
        if meter == 4:
            sharp, peak, flat = (
                forward * share for share in (Decimal("0.1"), Decimal("0.3"), Decimal("0.4"))
            )
            sharp, peak, flat = (value.quantize(Decimal("0.01")) for value in (sharp, peak, flat))
            valley = forward - sharp - peak - flat + (Decimal(1) if 5 <= index <= 12 else 0)
            registers = {"sharp": sharp, "peak": peak, "flat": flat, "valley": valley}
        group = self.groups[meter]
        return MeterReading(
            group=group,
            meter_asset_number=group.meter_asset_number,
            reading_date=day(index),
            forward_total=forward,
            reverse_total=self.reverse[meter],
            **registers,
        )

    def readings_of_night(self, night: int) -> list[MeterReading]:
        """What the data-collection system sends on a night: that day's readings."""
        found = []
        for meter in sorted(self.groups):
            if meter == 6 and night < LATE_METER_FROM + 3:
                continue  # registered on night 30, read from night 33
            if meter == 5 and (18 <= night <= 22 or night == 50):
                continue  # the collection failed
            found.append(self.reading(meter, night))
        for reading in found:
            if (
                reading.meter_asset_number == self.groups[5].meter_asset_number
                and night == LATE_READING[0]
            ):
                self.held_back.append(reading)
        late = self.held_back if night == LATE_READING[1] else []
        if late:
            self.held_back = []
        return [reading for reading in found if reading not in self.held_back] + late


def open_case(world: World, meter: int, kind: str) -> AnomalyCase:
    return AnomalyCase.objects.get(group=world.groups[meter], kind=kind, status="open")


def people(world: World, night: int) -> None:
    """What staff do on the cases, the same in every replay."""
    actor = world.city.south_admin
    if night == 13:  # a sheet for the stopped meter: the case stays open while it is out
        case = open_case(world, 0, AnomalyKind.STOPPED)
        contact_sheet_send(actor=actor, case_id=case.pk, request="请现场核实", now=NOW)
    if night == 19:
        case = open_case(world, 0, AnomalyKind.STOPPED)
        contact_sheet_answer(
            actor=actor, case_id=case.pk, finding="meter_fault", note="", found_on=day(19), now=NOW
        )
    if night == 29:  # closed on site while the meter still runs fast: raised again
        case = open_case(world, 3, AnomalyKind.RUNNING_FAST)
        contact_sheet_send(actor=actor, case_id=case.pk, request="请现场核实", now=NOW)
        contact_sheet_answer(
            actor=actor, case_id=case.pk, finding="no_fault", note="", found_on=day(29), now=NOW
        )
    if night == TUNED_NIGHT:
        AnomalyRule.objects.create(
            kind=AnomalyKind.STOPPED, raise_after_days=2, clear_after_days=2, threshold=0
        )


def play(city: Any, scanner: str) -> tuple[list[tuple], list[bool]]:
    """The same sixty nights from an empty database, scanned by one of the three scans;
    the cases raised, and for the new scan whether each night was a full rescan."""
    world = World(city=city, device=factories.device_type(actor=city.south_admin, watts=1000))
    for meter in (0, 1, 2, 3, 4, 5, 7, 8):
        world.register(meter, FIRST)
    full_nights = []
    for night in range(NIGHTS):
        if night == LATE_METER_FROM:
            world.register(6, day(night))
        MeterReading.objects.bulk_create(world.readings_of_night(night))
        if night == SKIPPED_NIGHT:
            continue
        for _rerun in range(2 if night == 37 else 1):
            if scanner == "legacy":
                legacy_scan(as_of=day(night), now=NOW)
            else:
                result = anomalies_scan(as_of=day(night), now=NOW, full=scanner == "full")
                full_nights.append((night, result.full))
        people(world, night)
    meters = {group.pk: meter for meter, group in world.groups.items()}
    found = sorted(
        (
            case.kind,
            meters[case.group_id],
            case.status,
            case.condition_since,
            case.raised_on,
            case.last_seen_on,
            case.cleared_on,
            case.cause,
            tuple(case.evidence.items()),
        )
        for case in AnomalyCase.objects.filter(group_id__in=meters)
    )
    # Leave nothing behind for the next replay.
    ContactSheet.objects.all().delete()
    AnomalyCase.objects.all().delete()
    AnomalyRule.objects.all().delete()
    MeterReading.objects.all().delete()
    Group.objects.filter(pk__in=meters).update(status="closed", closed_date=day(NIGHTS))
    scan_module.scan_state_forget()
    return found, full_nights


def kinds(found: list[tuple]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for case in found:
        counted[case[0]] = counted.get(case[0], 0) + 1
    return counted


class TestNightByNight:
    def test_the_nightly_scan_raises_exactly_the_cases_of_the_full_scan_and_of_the_scan_before(
        self, city
    ):
        before, _ = play(city, "legacy")
        full, full_nights_when_asked = play(city, "full")
        nightly, full_nights = play(city, "nightly")

        assert nightly == before
        assert full == before
        assert kinds(before) == {
            "going_down": 1,
            "missing": 2,
            "reverse": 1,
            "running_fast": 2,
            "stopped": 1,
            "sudden_peers": 7,
            "sudden_self": 5,
            "unbalanced": 1,
            "zero": 1,
        }
        # The meter registered late, read from its fourth day: missing 30 Sep to 2 Oct.
        assert ("missing", 6, "cleared", day(30), day(32), day(32), day(34)) in [
            case[:7] for case in nightly
        ]
        # Closed on site on night 29 while still running fast: raised again the next night.
        assert [case[2:8] for case in nightly if case[:2] == ("running_fast", 3)] == [
            ("cleared", day(25), day(27), day(33), day(36), ""),
            ("closed", day(25), day(27), day(29), None, "no_fault"),
        ]
        assert all(full for _night, full in full_nights_when_asked)
        # Full: the first night (no state yet), the late reading, the tuning; the rest nightly.
        assert [night for night, full in full_nights if full] == [0, 43, 46]

    def test_a_short_window_makes_the_edge_cases_fall_back_to_a_full_rescan_and_still_agree(
        self, city, monkeypatch
    ):
        monkeypatch.setattr(detection, "WINDOW_DAYS", 6)
        monkeypatch.setattr(scan_module, "EDGE_MARGIN_DAYS", 2)

        before, _ = play(city, "legacy")
        nightly, full_nights = play(city, "nightly")

        assert nightly == before
        assert len(before) > 10
        assert 30 in [night for night, full in full_nights if full]


class TestTheCommand:
    def test_full_rescans_the_window_and_the_next_night_reads_only_the_new_day(self, city):
        import io
        import json

        from django.core.management import call_command

        meter = factories.group(
            actor=city.south_admin,
            unit=city.south,
            place=city.south_place,
            active_from=FIRST,
        )
        factories.readings(meter, FIRST, [50] * 6)

        outputs = []
        for as_of, extra in ((day(4), ["--full"]), (day(5), [])):
            out = io.StringIO()
            call_command(
                "scan_anomalies", "--as-of", as_of.isoformat(), "--format", "json", *extra,
                stdout=out, stderr=io.StringIO(),
            )  # fmt: skip
            outputs.append(json.loads(out.getvalue()))

        assert [(found["full"], found["full_because"]) for found in outputs] == [
            (True, "asked"),
            (False, ""),
        ]
        assert outputs[0]["raised"] == {"stopped": 1}
        case = AnomalyCase.objects.get(kind=AnomalyKind.STOPPED)
        assert (case.condition_since, case.last_seen_on) == (day(1), day(5))
