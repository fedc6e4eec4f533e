"""The tables of the master-data loads: each one's columns, its sheet and an example row
(the template), shared by the loads and the exports."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from refmeter.billing.models import TariffKind
from refmeter.common import validators
from refmeter.masterdata.sheet import Column, Spec
from refmeter.organisations.models import Role, UnitKind

UNITS = Spec(
    kind="units",
    title=gettext_lazy("供电单位"),
    sheet="供电单位",
    columns=(
        Column("code", "编码", ("单位编码",), required=True),
        Column("name", "名称", ("单位名称",), required=True),
        Column("parent", "上级编码", ("上级单位编码",)),
        Column("kind", "层级"),
        Column("prefix", "户号前缀"),
    ),
    example=("3350101", "城南供电服务区", "33501", "供电服务区", "17"),
)

KIND_WORDS = (
    ("分公司", UnitKind.BRANCH),
    ("服务区", UnitKind.SERVICE_AREA),
    ("供电所", UnitKind.SERVICE_AREA),
    ("公司", UnitKind.COMPANY),
)


def unit_kind_word(kind: str) -> str:
    return str(UnitKind(kind).label)


USERS = Spec(
    kind="users",
    title=gettext_lazy("用户"),
    sheet="用户",
    columns=(
        Column("username", "工号", ("登录名", "用户名"), required=True),
        Column("name", "姓名", ("用户姓名",), required=True),
        Column("unit", "单位编码", ("供电单位编码",), required=True),
        Column("role", "角色", ("岗位",), required=True),
        Column("phone", "手机"),
    ),
    example=("3350101001", "张伟", "3350101", "电费人员", "13905751234"),
)


def role_words() -> dict[str, Role]:
    """Each role by its Chinese name (the words of the files, whatever the page's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {str(role.label): role for role in Role}


CUSTOMERS = Spec(
    kind="customers",
    title=gettext_lazy("客户"),
    sheet="客户",
    columns=(
        Column("unit", "单位编码", ("供电单位编码",), required=True),
        Column("name", "名称", ("客户名称",), required=True),
        Column("registration_number", "统一社会信用代码", ("证件号码", "信用代码")),
        Column("address", "地址", ("客户地址",)),
        Column("postcode", "邮编"),
        Column("phone", "联系电话"),
        Column("handler_name", "经办人"),
        Column("handler_id_number", "经办人身份证号"),
        Column("handler_phone", "经办人电话"),
        Column("outage_contact_name", "停电联系人"),
        Column("outage_contact_phone", "停电联系人电话"),
        Column("sms_number", "短信号码"),
        Column("created_date", "建档日期"),
    ),
    example=(
        "3350101", "中国电信股份有限公司绍兴分公司", "91330600MA288EBX69",
        "绍兴市越城区中兴南路 8 号", "312000", "0575-88001234", "王伟", "", "13905751234",
        "王伟", "13805751234", "13705751234", "2012-01-01",
    ),
)  # fmt: skip
DETAILS = (
    "registration_number", "address", "postcode", "phone", "handler_name", "handler_id_number",
    "handler_phone", "outage_contact_name", "outage_contact_phone", "sms_number",
)  # fmt: skip
CHECKS: dict[str, Callable[[object], str | None]] = {
    "registration_number": validators.registration_number_problem,
    "handler_id_number": validators.id_card_problem,
    "phone": validators.phone_problem,
    "handler_phone": validators.phone_problem,
    "outage_contact_phone": validators.phone_problem,
    "sms_number": validators.mobile_problem,
}

DEVICE_TYPES = Spec(
    kind="device_types",
    title=gettext_lazy("基准设备类型"),
    sheet="基准设备类型",
    columns=(
        Column("name", "名称", ("设备类型",), required=True),
        Column("rated_watts", "额定功率", ("额定功率(W)",), required=True),
        Column("hours", "日运行小时", ("日运行小时数", "运行小时")),
    ),
    example=("楼道EPON设备", "400", "24"),
)


TARIFFS = Spec(
    kind="tariffs",
    title=gettext_lazy("电价"),
    sheet="电价",
    columns=(
        Column("code", "电价代码", required=True),
        Column("name", "名称", ("电价名称",), required=True),
        Column("kind", "单一/分时", ("电价类型", "类型"), required=True),
        Column("price", "电度电价", ("单一电价",)),
        Column("sharp_price", "尖峰电价", ("尖峰",)),
        Column("peak_price", "高峰电价", ("高峰",)),
        Column("flat_price", "平段电价", ("平段",)),
        Column("valley_price", "低谷电价", ("低谷",)),
        Column("effective_from", "执行日期", ("生效日期",), required=True),
    ),
    example=("0201", "一般工商业 不满1千伏", "单一", "0.6500", "", "", "", "", "2026-01-01"),
)
PRICES = ("price", "sharp_price", "peak_price", "flat_price", "valley_price")
TOU_PRICES = PRICES[1:]
SINGLE_WORD = "单一"
TOU_WORD = "分时"


def tariff_kind_word(kind: str) -> str:
    return SINGLE_WORD if kind == TariffKind.SINGLE else TOU_WORD


AREAS = Spec(
    kind="areas",
    title=gettext_lazy("台区"),
    sheet="台区",
    columns=(
        Column("number", "台区编号", required=True),
        Column("name", "名称", ("台区名称",), required=True),
        Column("unit", "单位编码", ("供电单位编码",), required=True),
    ),
    example=("3310000001", "南江枫林2#配", "3350101"),
)
ACCESS_POINTS = Spec(
    kind="access_points",
    title=gettext_lazy("接入点"),
    sheet="接入点",
    columns=(
        Column("number", "接入点编号", required=True),
        Column("name", "名称", ("接入点名称",), required=True),
        Column("area", "台区编号", required=True),
    ),
    example=("33503000009083788", "南江枫林2#配28幢终端箱", "3310000001"),
)
