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

from refmeter.common.pdf import (
    Block,
    PrintDocument,
    Signatures,
    Space,
    Table,
    Text,
    document_pdf,
)


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
    """The list on landscape A4: its header data, the table, a footnote, signature boxes."""
    blocks: list[Block] = [Text(f"{label}：{value}") for label, value in document.meta]
    blocks.append(Space(3))
    blocks.append(
        Table(header=document.header, rows=[[_text(v) for v in row] for row in document.rows],
              widths=document.widths)
    )  # fmt: skip
    if document.footnote:
        blocks += [Space(3), Text(document.footnote)]
    if document.signatures:
        blocks += [Space(6), Signatures(labels=document.signatures, height_mm=28)]
    return document_pdf(PrintDocument(title=document.title, blocks=blocks, landscape=True))


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
