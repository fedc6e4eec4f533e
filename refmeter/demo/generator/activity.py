"""What has happened in the demo city: work orders, readings with their faults,
field findings and the grid."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from refmeter.demo.generator.city import CUSTOMERS
from refmeter.organisations.models import SupplyUnit, User
from refmeter.registry.models import DeviceType, Group, Point
from refmeter.registry.services import group_update


def _demo_work_orders(*, admin: User, today: dt.date, now: dt.datetime, nearby: list[str]) -> None:
    """Work in progress for the demo: a new install waiting for its survey, and a change
    connected 12 days ago whose archive is overdue."""
    from refmeter.registry.models import Customer
    from refmeter.workorders import services as orders

    customer = Customer.objects.get(name=CUSTOMERS[2].name)
    epon = DeviceType.objects.get(name="楼道EPON设备")

    def application_list(first: int) -> list[list[object]]:
        return [
            ["虚拟倍率客户接电申请清单"],
            ["设备类型：", "楼道EPON设备"],
            ["序号", "点位名称", "接电位置", "就近户号/局号", "备注"],
            *[
                [index, f"城南新村{first + index}幢移动机柜", f"{first + index}幢2单元计量箱内",
                 nearby[first + index], "新增"]
                for index in range(1, 6)
            ],
        ]  # fmt: skip

    waiting = orders.order_new_install_start(
        actor=admin, customer_id=customer.pk, device_type_id=epon.pk,
        application=orders.Application(handler_name="张海燕", sms_number="13705750001"), now=now,
    )  # fmt: skip
    orders.order_lines_import(actor=admin, order_id=waiting.pk, rows=application_list(10), now=now)
    orders.order_step_complete(actor=admin, order_id=waiting.pk, now=now)

    # A change connected 12 days ago: one point moved out, one new in, so the city's
    # totals stay those of the source.
    group = Group.objects.filter(customer=customer, device_type=epon).order_by("pk").first()
    assert group is not None
    leaving = group.points.filter(kind="sub", status="active").order_by("account_number").first()
    assert leaving is not None
    late = orders.order_group_start(
        actor=admin, group_id=group.pk, kind="change",
        application=orders.Application(handler_name="张海燕"), now=now,
    )  # fmt: skip
    connected = today - dt.timedelta(days=12)
    orders.order_lines_import(
        actor=admin, order_id=late.pk,
        rows=[
            ["序号", "点位名称", "接电位置", "就近户号/局号", "备注"],
            [1, "城南新村88幢移动机柜", "88幢1单元计量箱内", nearby[88], "新增"],
            [2, leaving.name, leaving.device_address, leaving.account_number, "取消"],
        ],
        now=now,
    )  # fmt: skip
    orders.order_step_complete(actor=admin, order_id=late.pk, now=now)
    orders.order_survey_resolve(actor=admin, order_id=late.pk, now=now)
    orders.order_step_complete(actor=admin, order_id=late.pk, now=now)
    orders.contract_save(
        actor=admin, order_id=late.pk, number=f"HT-{today:%Y}-0042", start_date=connected,
        end_date=connected + dt.timedelta(days=1826), approved_by="刘经理",
        approved_date=connected, signed_date=connected, now=now,
    )  # fmt: skip
    orders.order_step_complete(actor=admin, order_id=late.pk, now=now)
    orders.connection_record(actor=admin, order_id=late.pk, connection_date=connected, now=now)
    orders.order_step_complete(actor=admin, order_id=late.pk, now=now)
    orders.installation_dates_set(actor=admin, order_id=late.pk, all_lines=connected, now=now)
    orders.order_step_complete(actor=admin, order_id=late.pk, now=now)


DEMO_FAULTS = {
    # group index (in creation order) -> the fault the demo shows
    25: "stopped",  # the source's first case: stuck at 1149.24
    45: "zero_after_reverse",  # the source's second case: reversed, then reading 0
    30: "running_fast",
    10: "unbalanced",  # a China Telecom group, billed on time-of-use registers
    50: "sudden",
    60: "missing",
    70: "going_down",
}


def _demo_readings(*, admin: User, rng: random.Random, today: dt.date, now: dt.datetime) -> int:
    """Daily frozen readings for every reference meter over the last 24 months."""
    from decimal import Decimal

    from refmeter.billing.services import tariff_create
    from refmeter.readings.models import MeterReading

    tariff_create(code="LV-NONRES", name="一般工商业单一制", effective_from=dt.date(2010, 1, 1),
                  price=Decimal("0.6580"))  # fmt: skip
    tariff_create(
        code="LV-NONRES-TOU", name="一般工商业分时", effective_from=dt.date(2010, 1, 1),
        time_of_use={"sharp": Decimal("1.1020"), "peak": Decimal("0.9510"),
                     "flat": Decimal("0.6580"), "valley": Decimal("0.3200")},
    )  # fmt: skip
    start = today - dt.timedelta(days=730)
    rows: list[MeterReading] = []
    groups = list(Group.objects.select_related("device_type", "customer").order_by("pk"))
    telecom = CUSTOMERS[0].name
    for index, group in enumerate(groups):
        tou = group.customer.name == telecom
        if tou:
            group_update(
                actor=admin, group_id=group.pk, now=now, reason="演示：分时电价",
                terms_from_date=group.created_date, tariff_code="LV-NONRES-TOU",
            )  # fmt: skip
        rated = (
            float(group.device_type.rated_watts)
            * float(group.device_type.daily_operating_hours)
            / 1000
        )
        load = rng.uniform(0.35, 0.7)
        fault = DEMO_FAULTS.get(index)
        value = Decimal(str(round(rng.uniform(200, 5000), 2)))
        reverse = Decimal(0)
        registers = [value * Decimal(share) for share in ("0.1", "0.3", "0.4", "0.2")]
        days = 730
        for offset in range(days + 1):
            day = start + dt.timedelta(days=offset)
            if day < group.created_date:
                continue
            left = days - offset
            daily = Decimal(str(round(rated * load * rng.uniform(0.9, 1.1), 2)))
            if fault == "stopped" and left <= 300:
                daily = Decimal(0)
                if left == 300:
                    value = Decimal("1149.24")
                    registers = [value * Decimal(share) for share in ("0.1", "0.3", "0.4", "0.2")]
            if fault == "zero_after_reverse" and left <= 200:
                if left > 190:
                    reverse += Decimal("0.80")
                else:
                    value, daily = Decimal(0), Decimal(0)
                    registers = [Decimal(0)] * 4
            if fault == "running_fast" and left <= 12:
                daily = Decimal(str(round(rated * 3, 2)))
            if fault == "sudden" and left <= 6:
                daily = daily * 4
            if fault == "going_down" and 60 <= left <= 70:
                daily = Decimal("-0.50")
            if fault == "missing" and left < 4:
                continue
            parts = [daily * Decimal(share) for share in ("0.1", "0.3", "0.4", "0.2")]
            reading = MeterReading(
                group=group, meter_asset_number=group.meter_asset_number, reading_date=day,
                forward_total=value.quantize(Decimal("0.01")), reverse_total=reverse,
            )  # fmt: skip
            if tou:
                tou_values = [part.quantize(Decimal("0.01")) for part in registers]
                tou_values[3] = (
                    value.quantize(Decimal("0.01"))
                    - sum(tou_values[:3])
                    + (Decimal("3.00") if fault == "unbalanced" and left <= 5 else Decimal(0))
                )
                reading.sharp, reading.peak, reading.flat, reading.valley = tou_values
            rows.append(reading)
            value += daily
            registers = [register + part for register, part in zip(registers, parts, strict=True)]
        if len(rows) > 20_000:
            MeterReading.objects.bulk_create(rows, batch_size=5000)
            rows = []
    MeterReading.objects.bulk_create(rows, batch_size=5000)
    return MeterReading.objects.count()


def _demo_field_and_grid(*, today: dt.date, now: dt.datetime) -> None:
    """Last month's supply and sales per area (some look high-loss until the virtual energy
    is counted), a planned outage next week, and this half-year's inspection plan."""
    from decimal import Decimal

    from refmeter.common.periods import Period
    from refmeter.inspections.services import inspection_plan_create
    from refmeter.lineloss.models import AreaEnergy
    from refmeter.lineloss.selectors import area_virtual_energy
    from refmeter.outages.models import OutageKind
    from refmeter.outages.services import outage_create

    admin = User.objects.get(username="admin")
    rng = random.Random(2016)
    last = today.replace(day=1) - dt.timedelta(days=1)
    period = Period.month(last.year, last.month)
    virtual = area_virtual_energy(period=period)
    rows = []
    for area_id, figure in virtual.items():
        sales = Decimal(str(round(rng.uniform(2000, 20000), 2)))
        loss = Decimal(str(round(rng.uniform(0.02, 0.08), 4)))
        supply = ((sales + figure.energy) / (1 - loss)).quantize(Decimal("0.01"))
        rows.append(AreaEnergy(area_id=area_id, period_start=period.start_date, supply_kwh=supply,
                               sales_kwh=sales, imported_at=now))  # fmt: skip
    AreaEnergy.objects.bulk_create(rows)
    south = SupplyUnit.objects.get(code="3350101")
    busiest = (
        Point.objects.filter(group__unit=south, status="active")
        .values_list("area__number", flat=True)
        .order_by("area__number")
        .first()
    )
    start = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=9), dt.time(8, 30)))
    outage_create(
        actor=admin, unit=south, kind=OutageKind.PLANNED, starts_at=start,
        ends_at=start + dt.timedelta(hours=8), reason="10kV 线路检修",
        area_numbers=[busiest] if busiest else [], access_point_numbers=[], now=now,
    )  # fmt: skip
    half_year = dt.date(today.year, 1 if today.month <= 6 else 7, 1)
    inspection_plan_create(actor=admin, unit=south, period_start=half_year, now=now, seed=2017)
