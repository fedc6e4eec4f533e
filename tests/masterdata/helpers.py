from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook

from refmeter.organisations.models import User


def xlsx(
    header: Sequence[str], *rows: Sequence[object], title_rows: int = 0, sheet: str = "Sheet1"
) -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for index in range(title_rows):
        worksheet.append([f"营销系统导出 {index + 1}"])
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(header: Sequence[str], *rows: Sequence[object], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def superuser(username: str = "root") -> User:
    user = User(username=username, is_superuser=True, is_staff=True)
    user.set_password("x-long-password-1")
    user.save()
    return user


UNIT_HEADER = ("编码", "名称", "上级编码", "层级", "户号前缀")
CUSTOMER_HEADER = ("单位编码", "名称", "统一社会信用代码", "联系电话")
DEVICE_HEADER = ("名称", "额定功率", "日运行小时")
TARIFF_HEADER = (
    "电价代码", "名称", "单一/分时", "电度电价", "尖峰电价", "高峰电价", "平段电价", "低谷电价",
    "执行日期",
)  # fmt: skip
AREA_HEADER = ("台区编号", "名称", "单位编码")
PLACE_HEADER = ("接入点编号", "名称", "台区编号")
USER_HEADER = ("工号", "姓名", "单位编码", "角色", "手机")
