"""The demo city's make-up: units, device types, customers, logins, streets and sizes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from refmeter.common.validators import uscc_check_character
from refmeter.organisations.models import Role, UnitKind

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
