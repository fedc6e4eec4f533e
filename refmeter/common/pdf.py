"""Printable A4 documents: the utility's name, a title, key figures, tables, small charts,
QR codes and signature boxes, in the one embedded CJK font.

Each app builds its documents (acceptance form, contact sheet, bill notice…) from the
same selectors as its pages, as a :class:`PrintDocument` of blocks; this module only
lays them out. Text is escaped here, never by the callers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from refmeter.common.fonts import register_cjk_font
from refmeter.common.qr import qr_modules


@dataclass(frozen=True)
class QR:
    """A QR code in a table cell or on its own, ``size_mm`` wide with its quiet zone."""

    url: str
    size_mm: float = 22


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Fields:
    """Label/value pairs laid out ``columns`` pairs to a row (the form's header data)."""

    pairs: Sequence[tuple[str, object]]
    columns: int = 2


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    widths: Sequence[float] = ()  # relative; equal when empty
    numeric: Sequence[int] = ()  # columns aligned right


@dataclass(frozen=True)
class Chart:
    """A small line chart of daily values, with the figures named under it."""

    title: str
    labels: Sequence[str]
    values: Sequence[Decimal | float | None]
    unit: str = ""
    height_mm: float = 38


@dataclass(frozen=True)
class Signatures:
    labels: Sequence[str]
    height_mm: float = 24


@dataclass(frozen=True)
class Space:
    height_mm: float = 4


@dataclass(frozen=True)
class NewPage:
    """Start a new page: the next document of a batch, printed in one file."""

    title: str = ""  # a title repeated at the top of the new page
    subtitle: str = ""


Block = Heading | Text | Fields | Table | Chart | Signatures | Space | QR | NewPage


@dataclass(frozen=True)
class PrintDocument:
    title: str
    blocks: Sequence[Block]
    subtitle: str = ""  # e.g. the document number and date, under the title
    landscape: bool = False
    footer: str = ""  # repeated at the foot of every page with the page number
    meta: dict[str, Any] = field(default_factory=dict)


def escape(text: object) -> str:
    return (
        ""
        if text is None
        else str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )


def shown(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return str(value.isoformat())
    return str(value)


def qr_image(url: str, size_mm: float) -> Any:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image

    # A flowable image is read from a file: the code as a PNG of a few hundred bytes.
    buffer = io.BytesIO()
    qr_modules(url).save(buffer, format="PNG")
    buffer.seek(0)
    return Image(buffer, width=size_mm * mm, height=size_mm * mm)


def _chart(block: Chart, width: float, font: str) -> Any:
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.units import mm

    height = block.height_mm * mm
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 9, block.title, fontName=font, fontSize=8.5))
    points = [
        (index, float(value)) for index, value in enumerate(block.values) if value is not None
    ]
    if not points:
        drawing.add(String(0, height / 2, _("没有数据"), fontName=font, fontSize=8))
        return drawing
    plot = LinePlot()
    plot.x, plot.y = 28, 14
    plot.width, plot.height = width - 36, height - 30
    plot.data = [points]
    plot.lines[0].strokeColor = colors.HexColor("#1f5f8b")
    plot.lines[0].strokeWidth = 1
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(1, len(block.values) - 1)
    plot.xValueAxis.valueSteps = list(range(0, len(block.values), max(1, len(block.values) // 6)))
    plot.xValueAxis.labelTextFormat = lambda index: (
        block.labels[int(index)] if 0 <= int(index) < len(block.labels) else ""
    )
    low = min(value for _index, value in points)
    high = max(value for _index, value in points)
    plot.yValueAxis.valueMin = min(0.0, low)
    plot.yValueAxis.valueMax = high * 1.1 if high > 0 else 1.0
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = font
        axis.labels.fontSize = 6
    drawing.add(plot)
    if block.unit:
        drawing.add(String(0, height - 20, block.unit, fontName=font, fontSize=6))
    return drawing


def document_pdf(document: PrintDocument) -> bytes:
    """The document as an A4 PDF whose only font is the embedded CJK font."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pagesizes import landscape as turned
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        LongTable,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )

    font = register_cjk_font()
    page_size = turned(A4) if document.landscape else A4
    margin = 14 * mm
    available = page_size[0] - 2 * margin
    body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=cell, alignment=1)
    number = ParagraphStyle("number", parent=cell, alignment=2)
    utility = ParagraphStyle("utility", fontName=font, fontSize=10, leading=13, alignment=1)
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=21, alignment=1)
    subtitle = ParagraphStyle("subtitle", parent=body, alignment=1, textColor=colors.grey)
    heading = ParagraphStyle("heading", fontName=font, fontSize=11, leading=15, spaceBefore=6)
    label = ParagraphStyle("label", parent=cell, textColor=colors.HexColor("#444444"))
    grid = [
        ("FONTNAME", (0, 0), (-1, -1), font),  # cells default to Helvetica
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]

    def cell_flowable(value: object, style: ParagraphStyle) -> Any:
        if isinstance(value, QR):
            return qr_image(value.url, value.size_mm)
        return Paragraph(escape(shown(value)), style)

    def masthead(heading_text: str, subtitle_text: str) -> list[Any]:
        flowables = [
            Paragraph(escape(settings.REFMETER_UTILITY_NAME), utility),
            Paragraph(escape(heading_text), title),
        ]
        if subtitle_text:
            flowables.append(Paragraph(escape(subtitle_text), subtitle))
        return [*flowables, Spacer(1, 4 * mm)]

    story: list[Any] = masthead(document.title, document.subtitle)
    for block in document.blocks:
        if isinstance(block, NewPage):
            story += [PageBreak(), *masthead(block.title or document.title, block.subtitle)]
        elif isinstance(block, Heading):
            story.append(Paragraph(escape(block.text), heading))
        elif isinstance(block, Text):
            story.append(Paragraph(escape(block.text).replace("\n", "<br/>"), body))
        elif isinstance(block, Space):
            story.append(Spacer(1, block.height_mm * mm))
        elif isinstance(block, QR):
            story.append(qr_image(block.url, block.size_mm))
        elif isinstance(block, Fields):
            columns = max(1, block.columns)
            cells = [
                [Paragraph(escape(name), label), cell_flowable(value, cell)]
                for name, value in block.pairs
            ]
            rows = [
                [flowable for pair in cells[start : start + columns] for flowable in pair]
                for start in range(0, len(cells), columns)
            ]
            rows[-1] += [""] * (2 * columns - len(rows[-1]))
            pair = available / columns
            table = LongTable(rows, colWidths=[pair * 0.32, pair * 0.68] * columns)
            table.setStyle(
                TableStyle(
                    [
                        *grid,
                        *[
                            ("BACKGROUND", (2 * c, 0), (2 * c, -1), colors.HexColor("#f1f3f5"))
                            for c in range(columns)
                        ],
                    ]
                )
            )
            story.append(table)
        elif isinstance(block, Table):
            widths = list(block.widths) or [1.0] * len(block.header)
            scale = available / sum(widths)
            numeric = set(block.numeric)
            data = [[Paragraph(escape(text), head) for text in block.header]]
            data += [
                [
                    cell_flowable(value, number if index in numeric else cell)
                    for index, value in enumerate(row)
                ]
                for row in block.rows
            ]
            table = LongTable(data, colWidths=[w * scale for w in widths], repeatRows=1)
            table.setStyle(
                TableStyle([*grid, ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecef"))])
            )
            story.append(table)
        elif isinstance(block, Chart):
            story.append(_chart(block, available, font))
        elif isinstance(block, Signatures):
            boxes = LongTable(
                [[Paragraph(escape(f"{text}："), body) for text in block.labels]],
                colWidths=[available / len(block.labels)] * len(block.labels),
                rowHeights=[block.height_mm * mm],
            )
            boxes.setStyle(
                TableStyle(
                    [("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), font)]
                )
            )
            story.append(boxes)

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.drawRightString(
            page_size[0] - margin,
            8 * mm,
            f"{document.footer or document.title}  " + _("第 %(page)d 页") % {"page": doc.page},
        )
        canvas.restoreState()

    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=page_size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=12 * mm,
        bottomMargin=15 * mm,
        title=document.title,
        author=settings.REFMETER_UTILITY_NAME,
        creator="refmeter",
        initialFontName=font,  # else reportlab names Helvetica, unembedded, on every page
    )
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
