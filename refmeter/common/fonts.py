"""The CJK TrueType font embedded in every PDF, so prints need no font on the printing machine."""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _

FONT_NAME = "RefmeterCJK"
DEBIAN_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class FontMissing(Exception):
    pass


def font_path() -> Path:
    configured = os.environ.get("REFMETER_CJK_FONT")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("paperang_p2_fonts_cjk")
    if spec and spec.origin:
        packaged = Path(spec.origin).parent / "fonts" / "wqy-microhei.ttc"
        if packaged.exists():
            return packaged
    if DEBIAN_FONT.exists():
        return DEBIAN_FONT
    raise FontMissing(
        _(
            "没有可嵌入 PDF 的中文字体：请安装依赖包 paperang-p2-fonts-cjk，"
            "或用 REFMETER_CJK_FONT 指定 TrueType 字体文件。"
        )
    )


@cache
def register_cjk_font() -> str:
    """Register the font with reportlab once; returns its name. Every refmeter PDF starts
    here, so this is also where reportlab is set up for them."""
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Binary (Flate-only) streams: reportlab's default ASCII85 layer on top made a label PDF
    # a sixth bigger, and encoding it took time for nothing.
    rl_config.useA85 = 0

    path = font_path()
    options = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **options))
    return FONT_NAME
