"""Printable lists (confirmation list, contract annex...) as xlsx and as A4 PDF.

The PDF embeds a CJK TrueType font, so it prints the same on a machine that has
no Chinese fonts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from refmeter.common.fonts import register_cjk_font


@dataclass(frozen=True)
class ListDocument:
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    meta: Sequence[tuple[str, str]] = ()
    signatures: Sequence[str] = ()
    widths: Sequence[float] = field(default_factory=tuple)  # relative column widths
    footnote: str = ""


def _text(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def list_xlsx(document: ListDocument) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = document.title[:31]
    columns = len(document.header)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append([document.title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=columns)
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for label, value in document.meta:
        sheet.append([f"{label}：{value}"])
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=columns
        )
    sheet.append(list(document.header))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in document.rows:
        sheet.append([value if isinstance(value, int | float) else _text(value) for value in row])
        for cell in sheet[sheet.max_row]:
            cell.border = border
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    if document.footnote:
        sheet.append([])
        sheet.append([document.footnote])
    if document.signatures:
        sheet.append([])
        sheet.append(["        ".join(f"{label}：______________" for label in document.signatures)])
    widths = list(document.widths) or [1.0] * columns
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(6, width * 6)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def list_pdf(document: ListDocument) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    font = register_cjk_font()
    page_size = landscape(A4)
    margin = 12 * mm
    buffer = io.BytesIO()
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=8.5, alignment=1)
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, alignment=1)
    meta = ParagraphStyle("meta", fontName=font, fontSize=9.5, leading=13)

    def footer(canvas: object, doc: object) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont(font, 8)  # type: ignore[attr-defined]
        canvas.drawRightString(  # type: ignore[attr-defined]
            page_size[0] - margin,
            8 * mm,
            document.title + "  " + _("第 %(page)d 页") % {"page": doc.page},  # type: ignore[attr-defined]
        )
        canvas.restoreState()  # type: ignore[attr-defined]

    pdf = SimpleDocTemplate(
        buffer,
        pagesize=page_size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=15 * mm,
        title=document.title,
        initialFontName=font,  # else reportlab names Helvetica, unembedded, on every page
    )
    available = page_size[0] - 2 * margin
    widths = list(document.widths) or [1.0] * len(document.header)
    scale = available / sum(widths)
    data = [[Paragraph(_escape(text), head) for text in document.header]]
    data += [[Paragraph(_escape(_text(value)), body) for value in row] for row in document.rows]
    table = LongTable(data, colWidths=[width * scale for width in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),  # cells default to Helvetica
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecef")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story: list[object] = [Paragraph(_escape(document.title), title), Spacer(1, 4 * mm)]
    story += [Paragraph(_escape(f"{label}：{value}"), meta) for label, value in document.meta]
    story += [Spacer(1, 3 * mm), table]
    if document.footnote:
        story += [Spacer(1, 3 * mm), Paragraph(_escape(document.footnote), meta)]
    if document.signatures:
        signature_style = ParagraphStyle("sign", parent=meta, fontSize=10.5, leading=30)
        cells = [Paragraph(_escape(f"{label}："), signature_style) for label in document.signatures]
        boxes = LongTable(
            [cells], colWidths=[available / len(cells)] * len(cells), rowHeights=[28 * mm]
        )
        boxes.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), font)])
        )
        story += [Spacer(1, 6 * mm), boxes]
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def application_list_template(*, device_type: str = "", base_account_number: str = "") -> bytes:
    """The blank connection application list (attachment 4) customers fill in."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("接电申请清单")
    sheet.append([_("虚拟倍率客户接电申请清单")])
    sheet.merge_cells("A1:E1")
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(
        [_("设备类型："), device_type, "", _("虚拟户号（基准户号）："), base_account_number]
    )
    sheet.append(
        [_("序号"), _("点位名称"), _("接电位置"), _("就近户号/局号（或杆号/箱号）"), _("备注")]
    )
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDE", (8, 30, 30, 28, 10), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append([])
    sheet.append([_("客户（盖章）："), "", "", _("日期：")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
