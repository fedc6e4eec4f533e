"""Label PDFs: each label shows its QR code, the account number and a short address,
in an embedded CJK font. reportlab holds the document until it saves it: about 9 KiB of
memory a label beyond the process's own (bench/labels_pdf.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from refmeter.common.fonts import register_cjk_font
from refmeter.common.qr import qr_modules
from refmeter.labels.layouts import Layout


@dataclass(frozen=True)
class LabelPrint:
    url: str
    account_number: str
    name: str
    short_address: str
    serial: int


def _wrap(text: str, *, font: str, size: float, width: float, lines: int) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    result: list[str] = []
    current = ""
    for character in text:
        if stringWidth(current + character, font, size) > width:
            result.append(current)
            current = character
            if len(result) == lines:
                break
        else:
            current += character
    else:
        if current:
            result.append(current)
    if len(result) == lines and "".join(result) != text:
        result[-1] = result[-1][:-1] + "…"
    return result[:lines]


def labels_pdf(
    labels: Iterable[LabelPrint],
    *,
    layout: Layout,
    out: IO[bytes],
    title: str = "",
    progress: Callable[[int], None] = lambda done: None,
) -> int:
    """Draw the labels into ``out``; returns how many were drawn."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    font = register_cjk_font()
    # The initial font is the embedded one: reportlab's default (Helvetica) would be named,
    # unembedded, on every page.
    canvas = Canvas(
        out, pagesize=(layout.page_width * mm, layout.page_height * mm), initialFontName=font
    )
    utility = str(settings.REFMETER_UTILITY_SHORT_NAME)
    caption = _("扫码验真")
    canvas.setTitle(title or _("用电点二维码标签"))
    canvas.setCreator("refmeter")
    count = 0
    for count, label in enumerate(labels, start=1):
        slot = (count - 1) % layout.per_page
        if slot == 0 and count > 1:
            canvas.showPage()
        column, row = slot % layout.columns, slot // layout.columns
        left = (layout.margin_left + column * (layout.label_width + layout.gap_x)) * mm
        top = (
            layout.page_height - layout.margin_top - row * (layout.label_height + layout.gap_y)
        ) * mm
        bottom = top - layout.label_height * mm
        size = layout.qr_size * mm
        pad = max(0.0, (layout.label_height * mm - size) / 2)
        qr_left = left + pad * 0.5
        canvas.drawImage(ImageReader(qr_modules(label.url)), qr_left, bottom + pad, size, size)
        # The caption under the code tells whoever finds the label what scanning it does.
        canvas.setFont(font, 5.5)
        canvas.drawCentredString(
            qr_left + size / 2, bottom + max(0.6 * mm, pad - 2.4 * mm), caption
        )
        text_left = qr_left + size + 1 * mm
        text_width = left + layout.label_width * mm - text_left - 1.5 * mm
        line_y = top - pad - 2.2 * mm
        if utility:
            canvas.setFont(font, 6)
            canvas.drawString(
                text_left, line_y, _wrap(utility, font=font, size=6, width=text_width, lines=1)[0]
            )
            line_y -= 3.3 * mm
        else:
            line_y -= 1.3 * mm
        canvas.setFont(font, 8.5)
        canvas.drawString(text_left, line_y, label.account_number)
        canvas.setFont(font, 6.3)
        for line in _wrap(label.name, font=font, size=6.3, width=text_width, lines=2) + _wrap(
            label.short_address, font=font, size=6.3, width=text_width, lines=3
        ):
            line_y -= 2.8 * mm
            if line_y < bottom + 2.5 * mm:
                break
            canvas.drawString(text_left, line_y, line)
        canvas.setFont(font, 5)
        canvas.drawString(text_left, bottom + pad + 0.5 * mm, f"No.{label.serial}")
        if count % 100 == 0:
            progress(count)
    if count == 0:
        canvas.setFont(font, 10)
        canvas.drawString(5 * mm, layout.page_height * mm / 2, _("没有需要打印的标签。"))
    canvas.save()
    progress(count)
    return count
