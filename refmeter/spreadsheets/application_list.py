"""The connection application list (接电申请清单, attachment 4) as customers send it.

A title and a header block (device type, base account number) stand above the
table; cells may be merged, digits full-width, numbers stored as text or as
floats, with stray spaces and blank rows. Columns: 序号 | 点位名称 | 接电位置 |
就近户号/局号（或杆号/箱号）| 备注 (新增 / 取消).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import column_letter, find_header
from refmeter.common.text import clean_digits, clean_text

COLUMNS = {
    "number": ("序号",),
    "name": ("点位名称", "用电点名称", "设备名称"),
    "position": ("接电位置", "接入位置", "安装位置"),
    "nearby": ("就近户号", "局号", "杆号", "箱号"),
    "remark": ("备注", "变更类型"),
}
REQUIRED = {"name", "position", "nearby", "remark"}
ADD_WORDS = ("新增", "新装", "增加")
CANCEL_WORDS = ("取消", "拆除", "删除")
FOOTER_WORDS = ("盖章", "签章", "签字", "合计", "经办人", "日期")


@dataclass(frozen=True)
class ApplicationLine:
    row_number: int
    name: str
    position: str
    nearby_number: str
    action: str  # "add" or "cancel"


@dataclass(frozen=True)
class CellProblem:
    row_number: int
    column: str
    column_label: str
    message: str

    def __str__(self) -> str:
        if self.row_number == 0:
            return self.message
        return _("第 %(row)d 行 %(column)s 列（%(label)s）：%(message)s") % {
            "row": self.row_number,
            "column": self.column,
            "label": self.column_label,
            "message": self.message,
        }


@dataclass
class ApplicationList:
    device_type: str = ""
    base_account_number: str = ""
    lines: list[ApplicationLine] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)

    def cell_problem(self, row_number: int, key: str, message: str) -> CellProblem:
        """A problem in the cell of that row under the column ``key``."""
        labels = {
            "name": _("点位名称"),
            "position": _("接电位置"),
            "nearby": _("就近户号/局号"),
            "remark": _("备注"),
        }
        position = self.columns.get(key, 0)
        return CellProblem(row_number, column_letter(position), str(labels.get(key, key)), message)

    def problem(self, row_number: int, key: str, message: str) -> None:
        self.problems.append(self.cell_problem(row_number, key, message))


def _labelled_value(rows: list[list[object]], words: tuple[str, ...], before: int) -> str:
    """A header-block value: "设备类型：楼道EPON设备" in one cell, or the label then the value."""
    for row in rows[:before]:
        cells = [clean_text(cell) for cell in row]
        for position, text in enumerate(cells):
            compact = text.replace(" ", "")
            if not any(compact.startswith(word) for word in words):
                continue
            parts = re.split(r"[:：]", text, maxsplit=1)
            if len(parts) == 2 and parts[1].strip():
                return parts[1].strip()
            for value in cells[position + 1 :]:
                if value:
                    return value
    return ""


def parse_application_list(rows: list[list[object]]) -> ApplicationList:
    result = ApplicationList()
    header = find_header(rows, COLUMNS, REQUIRED)
    if header is None:
        result.problems.append(
            CellProblem(
                0,
                "",
                "",
                _(
                    "不是接电申请清单：未找到“点位名称、接电位置、就近户号/局号、备注”表头。"
                    "请使用系统提供的模板。"
                ),
            )
        )
        return result
    header_index, columns = header
    result.columns = columns
    result.device_type = _labelled_value(rows, ("设备类型", "基准设备类型"), header_index)
    result.base_account_number = clean_digits(
        _labelled_value(rows, ("虚拟户号", "基准户号", "参考表户号", "基准户户号"), header_index)
    )

    def cell(row: list[object], key: str) -> object:
        position = columns.get(key)
        return row[position] if position is not None and position < len(row) else None

    for index, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        texts = [clean_text(value) for value in row]
        if not any(texts):
            continue
        name = clean_text(cell(row, "name"))
        position = clean_text(cell(row, "position"))
        nearby = clean_digits(cell(row, "nearby"))
        remark = clean_text(cell(row, "remark")).replace(" ", "")
        if not name and any(word in "".join(texts) for word in FOOTER_WORDS):
            continue  # the signature and stamp lines under the table
        if not name:
            result.problem(index, "name", _("点位名称不能为空。"))
        if not position:
            result.problem(index, "position", _("接电位置不能为空。"))
        if not nearby:
            result.problem(index, "nearby", _("就近户号/局号不能为空。"))
        action = ""
        if any(word in remark for word in ADD_WORDS):
            action = "add"
        elif any(word in remark for word in CANCEL_WORDS):
            action = "cancel"
        else:
            result.problem(
                index, "remark", _("备注应为“新增”或“取消”，而不是“%(text)s”。") % {"text": remark}
            )
        if name and position and nearby and action:
            result.lines.append(ApplicationLine(index, name, position, nearby, action))
    if not result.lines and not result.problems:
        result.problems.append(CellProblem(0, "", "", _("清单中没有用电点。")))
    return result
