"""Label layouts: A4 sheets of N x M labels and roll printers, in millimetres.

Printers and stock differ from one utility to the next, so layouts are configuration:
``REFMETER_LABEL_LAYOUTS`` in the settings, or a JSON file named by the environment
variable ``REFMETER_LABEL_LAYOUTS_FILE`` (same shape), added to the defaults below.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_LAYOUTS: dict[str, dict[str, object]] = {
    "a4-3x8": {
        "title": "A4 不干胶 3×8（70×37 mm）", "page_width": 210, "page_height": 297,
        "columns": 3, "rows": 8, "label_width": 70, "label_height": 37,
        "margin_left": 0, "margin_top": 0.5, "gap_x": 0, "gap_y": 0, "qr_size": 24,
    },
    "a4-2x7": {
        "title": "A4 不干胶 2×7（99.1×38.1 mm）", "page_width": 210, "page_height": 297,
        "columns": 2, "rows": 7, "label_width": 99.1, "label_height": 38.1,
        "margin_left": 4.65, "margin_top": 15.15, "gap_x": 2.5, "gap_y": 0, "qr_size": 26,
    },
    "roll-50x30": {
        "title": "卷筒标签 50×30 mm", "page_width": 50, "page_height": 30,
        "columns": 1, "rows": 1, "label_width": 50, "label_height": 30,
        "margin_left": 0, "margin_top": 0, "gap_x": 0, "gap_y": 0, "qr_size": 24,
    },
    "roll-60x40": {
        "title": "卷筒标签 60×40 mm", "page_width": 60, "page_height": 40,
        "columns": 1, "rows": 1, "label_width": 60, "label_height": 40,
        "margin_left": 0, "margin_top": 0, "gap_x": 0, "gap_y": 0, "qr_size": 30,
    },
}  # fmt: skip
DEFAULT_LAYOUT = "a4-3x8"
MIN_QR_MM = 20  # the printed code stays decodable at 300 dpi down to this width


class UnknownLayout(Exception):
    pass


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    margin_left: float
    margin_top: float
    gap_x: float
    gap_y: float
    qr_size: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def problems(self) -> list[str]:
        found = []
        width = self.margin_left + self.columns * self.label_width + (self.columns - 1) * self.gap_x
        height = self.margin_top + self.rows * self.label_height + (self.rows - 1) * self.gap_y
        if width > self.page_width + 0.01 or height > self.page_height + 0.01:
            found.append(_("标签超出纸张范围。"))
        if self.qr_size < MIN_QR_MM:
            found.append(_("二维码宽度不能小于 %(size)d 毫米。") % {"size": MIN_QR_MM})
        if self.qr_size > min(self.label_width, self.label_height):
            found.append(_("二维码比标签还大。"))
        if self.columns < 1 or self.rows < 1:
            found.append(_("行数和列数至少为 1。"))
        return found


def _configured() -> dict[str, dict[str, object]]:
    layouts = dict(DEFAULT_LAYOUTS)
    layouts.update(getattr(settings, "REFMETER_LABEL_LAYOUTS", {}) or {})
    path = os.environ.get("REFMETER_LABEL_LAYOUTS_FILE")
    if path:
        layouts.update(json.loads(Path(path).read_text(encoding="utf-8")))
    return layouts


def layout_names() -> list[tuple[str, str]]:
    return [(name, str(spec.get("title", name))) for name, spec in _configured().items()]


def layout_get(name: str) -> Layout:
    spec = _configured().get(name)
    if spec is None:
        raise UnknownLayout(
            _("没有名为“%(name)s”的标签版式；可用的有：%(names)s。")
            % {"name": name, "names": "、".join(_configured())}
        )
    names = {field.name for field in fields(Layout)} - {"name"}
    values: dict[str, Any] = {
        key: str(value) if key == "title" else float(value)  # type: ignore[arg-type]
        for key, value in spec.items()
        if key in names
    }
    values["columns"] = int(values.get("columns", 1))
    values["rows"] = int(values.get("rows", 1))
    layout = Layout(name=name, **values)
    problems = layout.problems()
    if problems:
        raise UnknownLayout(
            _("标签版式“%(name)s”配置有误：%(problems)s")
            % {"name": name, "problems": "".join(problems)}
        )
    return layout
