"""The workbook's layout: its two sheets, their columns and the words in them."""

from __future__ import annotations

from collections.abc import Callable

GROUP_SHEET = "基准户核查清单"
POINT_SHEET = "虚拟子户清单"
MAX_ROWS = 300_000
ACTIVE_WORD = "在用"
CANCELLED_WORD = "已取消"

GROUP_COLUMNS: list[tuple[str, str]] = [
    ("unit_code", "供电单位编码"),
    ("unit_name", "供电单位"),
    ("customer", "客户名称"),
    ("account_number", "基准户户号"),
    ("name", "户名"),
    ("address", "地址"),
    ("created_date", "立户日期"),
    ("meter_barcode", "电能表条码"),
    ("meter_asset_number", "参考表资产编号"),
    ("meter_box_resource_number", "表箱资源编号"),
    ("ct_ratio", "互感器倍率"),
    ("tariff_code", "电价代码"),
    ("device_type", "设备类型"),
    ("access_point_number", "接入点编号"),
    ("access_point_name", "接入点名称"),
    ("area_number", "台区编号"),
    ("points", "参考点数"),
]
POINT_COLUMNS: list[tuple[str, str]] = [
    ("base_account_number", "基准户户号"),
    ("account_number", "户号"),
    ("name", "户名"),
    ("address", "设备地址"),
    ("nearby_number", "就近户号/局号"),
    ("access_point_number", "接入点编号"),
    ("access_point_name", "接入点名称"),
    ("area_number", "台区编号"),
    ("active_from_date", "接电日期"),
    ("active_to_date", "停用日期"),
    ("status", "状态"),
]
GROUP_REQUIRED = {
    "unit_code", "customer", "account_number", "name", "address", "created_date",
    "meter_asset_number", "device_type", "access_point_number",
}  # fmt: skip
POINT_REQUIRED = {
    "base_account_number", "account_number", "name", "address", "access_point_number",
    "active_from_date", "status",
}  # fmt: skip

Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, message: str) -> None:
    return None
