"""Builds the demo city: 3 supply units, 8 organisations with the source's point counts
(7,185 in all), about 2,000 transformer areas with access points, the nearby-number
index, groups of at most 90 sub-accounts per device type, and a login per role.

Everything goes through the services, so the demo data obeys the same rules (and
leaves the same audit trail) as real data. The random generator is seeded: the
same date gives the same city.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.validators import uscc_check_character
from refmeter.organisations.models import Role, SupplyUnit, UnitKind, User
from refmeter.organisations.services import supply_unit_create, user_create
from refmeter.registry.models import AccessPoint, DeviceType, Group, Point, TransformerArea
from refmeter.registry.services import (
    PointInput,
    customer_create,
    device_type_create,
    group_create,
    group_update,
    nearby_index_load,
    sub_account_cancel,
    sub_accounts_add,
)

DEMO_PASSWORD = "refmeter-demo"
SUB_ACCOUNTS_PER_GROUP = 90  # below the 100 ceiling, leaving room for growth

UNITS = [
    # code, name, kind, parent code, account prefix
    ("33501", "国网绍兴供电公司", UnitKind.COMPANY, None, ""),
    ("3350101", "越城城南供电服务区", UnitKind.SERVICE_AREA, "33501", "1702"),
    ("3350102", "越城城北供电服务区", UnitKind.SERVICE_AREA, "33501", "1703"),
]

DEVICE_TYPES = [
    ("楼道EPON设备", Decimal(400), Decimal(24)),
    ("有线电视放大器", Decimal(60), Decimal(24)),
    ("治安监控探头", Decimal(50), Decimal(24)),
    ("交通信号灯", Decimal(300), Decimal(24)),
    ("通信微基站", Decimal(350), Decimal(24)),
    ("景观路灯", Decimal(150), Decimal(11)),
    ("航道监控设备", Decimal(80), Decimal(24)),
]


def _credit_code(drawn: str) -> str:
    """A valid 统一社会信用代码 from the 18 digits drawn: the first 17 and their check
    character (GB 32100-2015), so the demo's numbers pass the same checks as real ones."""
    return drawn[:17] + uscc_check_character(drawn[:17])


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    short: str
    unit_code: str
    points: dict[str, int]  # device type -> points
    phone: str
    contact: str


CUSTOMERS = [
    DemoCustomer("中国电信股份有限公司绍兴分公司", "电信", "3350101",
                 {"楼道EPON设备": 1657}, "0575-88001000", "王建国"),
    DemoCustomer("中国联合网络通信有限公司绍兴市分公司", "联通", "3350102",
                 {"楼道EPON设备": 774}, "0575-88002000", "李卫东"),
    DemoCustomer("中国移动通信集团浙江有限公司绍兴分公司", "移动", "3350101",
                 {"楼道EPON设备": 1417, "通信微基站": 600}, "0575-88003000", "张海燕"),
    DemoCustomer("中广有线信息网络有限公司绍兴分公司", "有线", "3350102",
                 {"有线电视放大器": 2681}, "0575-88004000", "陈志强"),
    DemoCustomer("绍兴市越城区蛟里村股份经济合作社", "蛟里", "3350101",
                 {"景观路灯": 7}, "0575-88005000", "周小平"),
    DemoCustomer("绍兴市内河管理处", "内河", "3350101",
                 {"航道监控设备": 10}, "0575-88006000", "吴国华"),
    DemoCustomer("绍兴市交通物业管理有限公司", "交通物业", "3350102",
                 {"治安监控探头": 36}, "0575-88007000", "郑丽娟"),
    DemoCustomer("绍兴市公安局交通警察支队", "交警", "3350102",
                 {"交通信号灯": 3}, "0575-88008000", "孙立军"),
]  # fmt: skip

DEMO_USERS = [
    # username, full name, role, unit code
    ("admin", "系统管理员", Role.ADMINISTRATOR, "33501"),
    ("manager", "刘经理", Role.MANAGER, "33501"),
    ("clerk", "赵受理", Role.CLERK, "3350101"),
    ("surveyor", "钱勘察", Role.SURVEYOR, "3350101"),
    ("custmgr", "孙客户经理", Role.CUSTOMER_MANAGER, "3350101"),
    ("field", "李装接", Role.FIELD_STAFF, "3350101"),
    ("collector", "周采集", Role.DATA_COLLECTION, "3350101"),
    ("billing", "吴电费", Role.BILLING, "3350101"),
    # A second billing user of 城南 approves what the first computes; 城北 bills its own month.
    ("billing2", "冯电费", Role.BILLING, "3350101"),
    ("billing3", "陈电费", Role.BILLING, "3350102"),
    ("clerk2", "郑受理", Role.CLERK, "3350102"),
]

STREETS = {
    "3350101": ["城南街道", "塔山街道", "稽山街道", "东湖街道", "鉴湖街道"],
    "3350102": ["北海街道", "府山街道", "灵芝街道", "斗门街道", "迪荡街道"],
}
ESTATES = [
    "城南新村", "南江枫林", "南苑小区", "东湖花园", "稽山公寓", "鉴湖景园", "塔山新村",
    "迎恩门小区", "北海花苑", "府山新村", "灵芝嘉园", "斗门人家", "迪荡湖畔", "镜湖名邸",
    "环城西苑", "越王府邸", "兰亭小区", "沈园新村", "大禹家园", "会稽山庄", "秋瑾小区",
    "西小河小区", "百草园小区", "柯桥嘉苑", "解放北苑", "中兴南苑", "快阁苑", "新建南苑",
]  # fmt: skip
COMMUNITIES = ["南苑社区", "东湖社区", "北海社区", "府山社区", "迪荡社区", "塔山社区"]
SPOTS = {
    "楼道EPON设备": "楼道EPON机柜",
    "有线电视放大器": "有线放大器",
    "治安监控探头": "监控探头",
    "交通信号灯": "信号灯控制箱",
    "通信微基站": "微基站",
    "景观路灯": "路灯",
    "航道监控设备": "航道监控杆",
}
AREAS_PER_UNIT = 1000
ACCESS_POINTS_PER_AREA = 2
NEARBY_NUMBERS_PER_UNIT = 3000


@dataclass(frozen=True)
class DemoSummary:
    units: int
    users: int
    customers: int
    device_types: int
    areas: int
    access_points: int
    groups: int
    points_active: int
    logins: list[tuple[str, str, str, str]]


def split_evenly(total: int, per_group: int) -> list[int]:
    """Sizes of ceil(total / per_group) groups that differ by at most one."""
    groups = max(1, math.ceil(total / per_group))
    base, extra = divmod(total, groups)
    return [base + (1 if index < extra else 0) for index in range(groups)]


def demo_is_loaded() -> bool:
    return SupplyUnit.objects.exists()


def load_demo(
    *,
    today: dt.date,
    now: dt.datetime,
    progress: Callable[[str], None] = lambda message: None,
) -> DemoSummary:
    if demo_is_loaded():
        raise RuntimeError("数据库中已有数据，演示数据只能装入空数据库。")
    rng = random.Random(20170101)
    with transaction.atomic():
        units: dict[str, SupplyUnit] = {}
        for code, name, kind, parent, prefix in UNITS:
            units[code] = supply_unit_create(
                code=code,
                name=name,
                kind=kind,
                parent=units[parent] if parent else None,
                account_prefix=prefix,
                now=now,
            )
        users: dict[str, User] = {}
        for username, full_name, role, unit_code in DEMO_USERS:
            users[username] = user_create(
                username=username,
                password=DEMO_PASSWORD,
                unit=units[unit_code],
                role=role,
                full_name=full_name,
                is_superuser=username == "admin",
                now=now,
            )
        admin = users["admin"]
        progress("单位与用户已创建")

        device_types: dict[str, DeviceType] = {
            name: device_type_create(
                actor=admin, name=name, rated_watts=watts, daily_operating_hours=hours, now=now
            )
            for name, watts, hours in DEVICE_TYPES
        }

        nearby_by_unit = _load_places(rng=rng, units=units, admin=admin, now=now)
        progress("台区、接入点与就近户号索引已创建")

        group_count = 0
        for customer_spec in CUSTOMERS:
            unit = units[customer_spec.unit_code]
            customer = customer_create(
                actor=admin,
                unit=unit,
                name=customer_spec.name,
                created_date=dt.date(2012, 1, 1),
                now=now,
                registration_number=_credit_code(f"91330600{rng.randrange(10**9, 10**10)}"),
                address=f"绍兴市越城区{rng.choice(STREETS[unit.code])}{rng.randrange(1, 300)}号",
                postcode="312000",
                phone=customer_spec.phone,
                handler_name=customer_spec.contact,
                handler_phone=f"139{rng.randrange(10**7, 10**8)}",
                outage_contact_name=customer_spec.contact,
                outage_contact_phone=f"138{rng.randrange(10**7, 10**8)}",
                sms_number=f"137{rng.randrange(10**7, 10**8)}",
            )
            for device_name, points in customer_spec.points.items():
                for size in split_evenly(points, SUB_ACCOUNTS_PER_GROUP + 1):
                    _create_group(
                        rng=rng,
                        admin=admin,
                        unit=unit,
                        customer=customer,
                        customer_short=customer_spec.short,
                        device_type=device_types[device_name],
                        size=size,
                        nearby_numbers=nearby_by_unit[unit.code],
                        today=today,
                        now=now,
                    )
                    group_count += 1
            progress(f"{customer_spec.short}：{sum(customer_spec.points.values())} 个用电点")
        _demo_work_orders(admin=admin, today=today, now=now, nearby=nearby_by_unit["3350101"])
        progress("在途工单已创建")
        readings = _demo_readings(admin=admin, rng=rng, today=today, now=now)
        progress(f"近 24 个月日冻结读数 {readings} 条（含注入的故障）")
    from refmeter.anomalies.services import anomalies_scan

    # Scan the last half year fortnightly, as the nightly scan would have, so the demo has
    # a history of cases raised and cleared.
    for weeks_ago in range(26, -1, -2):
        anomalies_scan(as_of=today - dt.timedelta(days=7 * weeks_ago), now=now)
    progress("近半年的异常扫描已运行")
    _demo_field_and_grid(today=today, now=now)
    progress("线损数据、停电计划与周期检查计划已创建")
    return DemoSummary(
        units=len(units),
        users=len(users),
        customers=len(CUSTOMERS),
        device_types=len(device_types),
        areas=TransformerArea.objects.count(),
        access_points=AccessPoint.objects.count(),
        groups=group_count,
        points_active=Point.objects.filter(status="active").count(),
        logins=[(u, DEMO_PASSWORD, str(role.label), n) for u, n, role, _unit in DEMO_USERS],
    )


def _load_places(
    *, rng: random.Random, units: dict[str, SupplyUnit], admin: User, now: dt.datetime
) -> dict[str, list[str]]:
    """Areas and access points in bulk, then the nearby index through its loader."""
    areas: list[TransformerArea] = []
    for unit_index, unit_code in enumerate(("3350101", "3350102")):
        for index in range(AREAS_PER_UNIT):
            estate = rng.choice(ESTATES)
            areas.append(
                TransformerArea(
                    unit=units[unit_code],
                    number=f"33{unit_index + 1}{index + 1:07d}",
                    name=f"{estate}{rng.randrange(1, 9)}#配",
                )
            )
    areas = TransformerArea.objects.bulk_create(areas)
    access_points = [
        AccessPoint(
            number=f"3350300000{area_index * ACCESS_POINTS_PER_AREA + position + 1:07d}",
            name=f"{area.name}{rng.randrange(1, 60)}幢终端箱",
            area=area,
        )
        for area_index, area in enumerate(areas)
        for position in range(ACCESS_POINTS_PER_AREA)
    ]
    AccessPoint.objects.bulk_create(access_points)
    audit_record(
        actor=admin,
        occurred_at=now,
        reason="演示数据",
        change=AuditChange(
            action="places.load",
            subject_type="places",
            subject_id=0,
            subject_label="台区与接入点",
            after={"areas": len(areas), "access_points": len(access_points)},
        ),
    )
    numbers_by_unit: dict[str, list[str]] = {}
    rows: list[list[object]] = [
        ["营销系统就近户号导出"],
        ["就近户号/局号", "类型", "接入点编号"],
    ]
    sequence = 1600000
    for unit_code in ("3350101", "3350102"):
        unit_points = [point for point in access_points if point.area.unit.code == unit_code]
        numbers = []
        for _index in range(NEARBY_NUMBERS_PER_UNIT):
            sequence += rng.randrange(1, 40)
            number = f"170{sequence:07d}"
            numbers.append(number)
            rows.append([number, "户号", rng.choice(unit_points).number])
        numbers_by_unit[unit_code] = numbers
    nearby_index_load(actor=admin, rows=rows, now=now)
    return numbers_by_unit


def _point_input(
    *,
    rng: random.Random,
    unit: SupplyUnit,
    customer_short: str,
    device_type: DeviceType,
    nearby_numbers: list[str],
    active_from: dt.date | None,
) -> PointInput:
    estate = rng.choice(ESTATES)
    building = rng.randrange(1, 80)
    entrance = rng.randrange(1, 5)
    spot = SPOTS.get(device_type.name, "设备")
    return PointInput(
        name=f"{estate}{building}幢{customer_short}{spot}",
        device_address=(
            f"越城区{rng.choice(STREETS[unit.code])}{rng.choice(COMMUNITIES)}"
            f"{estate}{building}幢{entrance}单元"
        ),
        nearby_number=rng.choice(nearby_numbers),
        active_from_date=active_from,
    )


def _create_group(
    *,
    rng: random.Random,
    admin: User,
    unit: SupplyUnit,
    customer: object,
    customer_short: str,
    device_type: DeviceType,
    size: int,
    nearby_numbers: list[str],
    today: dt.date,
    now: dt.datetime,
) -> None:
    span_days = (today - dt.date(2012, 6, 1)).days
    created = dt.date(2012, 6, 1) + dt.timedelta(days=rng.randrange(0, max(1, span_days - 400)))
    base = _point_input(
        rng=rng,
        unit=unit,
        customer_short=customer_short,
        device_type=device_type,
        nearby_numbers=nearby_numbers,
        active_from=created,
    )
    group = group_create(
        actor=admin,
        unit=unit,
        customer=customer,  # type: ignore[arg-type]
        device_type=device_type,
        meter_asset_number=f"3310{rng.randrange(10**12, 10**13)}",
        meter_barcode=f"33{rng.randrange(10**18, 10**19)}",
        meter_box_resource_number=f"BX{rng.randrange(10**9, 10**10)}",
        meter_install_date=created,
        created_date=created,
        tariff_code="LV-NONRES",
        base=base,
        reason="演示数据",
        now=now,
    )
    subs = [
        _point_input(
            rng=rng,
            unit=unit,
            customer_short=customer_short,
            device_type=device_type,
            nearby_numbers=nearby_numbers,
            active_from=created + dt.timedelta(days=rng.choice([0, 0, 0, rng.randrange(1, 365)])),
        )
        for _index in range(size - 1)
    ]
    sub_accounts_add(actor=admin, group_id=group.pk, points=subs, reason="演示数据", now=now)
    if size > 20 and rng.random() < 0.3:
        # A point connected for a while, then removed: history the demo can show.
        start = created + dt.timedelta(days=30)
        (removed,) = sub_accounts_add(
            actor=admin,
            group_id=group.pk,
            points=[
                _point_input(
                    rng=rng,
                    unit=unit,
                    customer_short=customer_short,
                    device_type=device_type,
                    nearby_numbers=nearby_numbers,
                    active_from=start,
                )
            ],
            reason="演示数据",
            now=now,
        )
        sub_account_cancel(
            actor=admin,
            point_id=removed.pk,
            active_to_date=start + dt.timedelta(days=rng.randrange(30, 300)),
            reason="演示数据：点位拆除",
            now=now,
        )


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
