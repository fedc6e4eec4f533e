"""What the middle steps record: contract, connection, installation dates, closure, archive."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import find_header
from refmeter.common.text import clean_digits, clean_text, is_digits
from refmeter.common.validators import FieldProblem
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import Group
from refmeter.workorders.models import (
    REQUIRED_DOCUMENTS,
    ArchiveDocument,
    Contract,
    EventKind,
    LineAction,
    OrderKind,
    Step,
    WorkOrder,
    WorkOrderLine,
)
from refmeter.workorders.selectors import OrderNotVisible
from refmeter.workorders.services.base import (
    DOCUMENT_SUFFIXES,
    MAX_DOCUMENT_BYTES,
    Change,
    UnableToProgressOrder,
    _event,
    _locked_order,
    _text,
)

# ---------------------------------------------------------------- contract, connection


def contract_save(
    *,
    actor: User,
    order_id: int,
    number: str,
    start_date: dt.date,
    end_date: dt.date,
    approved_by: str,
    approved_date: dt.date | None,
    signed_date: dt.date | None,
    now: dt.datetime,
    expected_version: int | None = None,
) -> Contract:
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.CONTRACT, expected_version=expected_version
        )
        problems = []
        if not clean_text(number):
            problems.append(FieldProblem(_("请填写合同编号。"), field="number"))
        if end_date <= start_date:
            problems.append(FieldProblem(_("合同到期日期必须晚于生效日期。"), field="end_date"))
        if signed_date and not approved_date:
            problems.append(FieldProblem(_("合同须先审批再签订。"), field="approved_date"))
        if signed_date and approved_date and signed_date < approved_date:
            problems.append(FieldProblem(_("签订日期不能早于审批日期。"), field="signed_date"))
        if problems:
            raise UnableToProgressOrder(problems)
        values = {
            "number": clean_text(number),
            "start_date": start_date,
            "end_date": end_date,
            "approved_by": clean_text(approved_by),
            "approved_date": approved_date,
            "signed_date": signed_date,
        }
        old = Contract.objects.filter(order=order).first()
        contract, _created = Contract.objects.update_or_create(order=order, defaults=values)
        changes = [
            (f"contract.{field}", _text(getattr(old, field) if old else None), _text(value))
            for field, value in values.items()
        ]
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("合同 %(number)s 已保存。") % {"number": contract.number})  # fmt: skip
    return contract


def connection_record(
    *,
    actor: User,
    order_id: int,
    connection_date: dt.date,
    now: dt.datetime,
    meter_asset_number: str = "",
    meter_barcode: str = "",
    meter_box_resource_number: str = "",
    ct_ratio: int = 1,
    tariff_code: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.CONNECTION, expected_version=expected_version
        )
        fields = ["connection_date"]
        if order.kind == OrderKind.NEW_INSTALL:
            fields += [
                "meter_asset_number", "meter_barcode", "meter_box_resource_number", "ct_ratio",
                "tariff_code",
            ]  # fmt: skip
        before = {field: _text(getattr(order, field)) for field in fields}
        problems = []
        if order.kind == OrderKind.NEW_INSTALL:
            meter = clean_digits(meter_asset_number)
            if not meter:
                problems.append(
                    FieldProblem(_("新装须填写参考表资产编号。"), field="meter_asset_number")
                )
            elif Group.objects.filter(meter_asset_number=meter).exists():
                problems.append(
                    FieldProblem(
                        _("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter},
                        field="meter_asset_number",
                    )
                )
            if ct_ratio < 1:
                problems.append(FieldProblem(_("互感器倍率必须是正整数。"), field="ct_ratio"))
            order.meter_asset_number = meter
            order.meter_barcode = clean_text(meter_barcode)
            order.meter_box_resource_number = clean_text(meter_box_resource_number)
            order.ct_ratio = ct_ratio
            order.tariff_code = clean_text(tariff_code)
        if connection_date > now.date() + dt.timedelta(days=1):
            problems.append(FieldProblem(_("接电日期不能晚于今天。"), field="connection_date"))
        if problems:
            raise UnableToProgressOrder(problems)
        order.connection_date = connection_date
        order.save()
        changes = [(field, before[field], _text(getattr(order, field))) for field in fields]
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("接电日期 %(day)s") % {"day": connection_date.isoformat()})  # fmt: skip
    return order


# ---------------------------------------------------------------- installation entry


def installation_dates_set(
    *,
    actor: User,
    order_id: int,
    now: dt.datetime,
    all_lines: dt.date | None = None,
    by_line: dict[int, dt.date] | None = None,
    expected_version: int | None = None,
) -> int:
    """Installation (or removal) dates of the order's points: one for all, or per line."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor,
            order_id=order_id,
            step=Step.INSTALLATION,
            expected_version=expected_version,
        )
        lines = list(order.lines.all())
        problems = []
        changed = 0
        changes: list[Change] = []
        for line in lines:
            day = (by_line or {}).get(line.pk, all_lines)
            if day is None:
                continue
            if (
                order.connection_date
                and line.action == LineAction.ADD
                and day < order.connection_date
            ):
                problems.append(
                    _("第 %(line)d 行：安装日期 %(day)s 早于接电日期 %(connection)s。")
                    % {"line": line.line_number, "day": day, "connection": order.connection_date}
                )
            if day > now.date() + dt.timedelta(days=1):
                problems.append(
                    _("第 %(line)d 行：安装日期 %(day)s 晚于今天。")
                    % {"line": line.line_number, "day": day}
                )
            changes.append(
                (
                    f"line.{line.line_number}.installation_date",
                    _text(line.installation_date),
                    _text(day),
                )
            )
            line.installation_date = day
            changed += 1
        if problems:
            raise UnableToProgressOrder(problems)
        WorkOrderLine.objects.bulk_update(lines, ["installation_date"])
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("录入安装日期 %(count)d 个。") % {"count": changed})  # fmt: skip
    return changed


INSTALLATION_COLUMNS = {
    "account_number": ("户号",),
    "date": ("安装日期", "接电日期", "日期"),
}


def installation_dates_import(
    *,
    actor: User,
    order_id: int,
    rows: list[list[object]],
    now: dt.datetime,
    expected_version: int | None = None,
) -> int:
    """Installation dates from a sheet with the columns 户号 and 安装日期 (the confirmation
    list with its date column filled in on site will do)."""
    order = WorkOrder.objects.filter(unit_scope(user=actor), pk=order_id).first()
    if order is None:
        raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
    header = find_header(rows, INSTALLATION_COLUMNS, {"account_number", "date"})
    if header is None:
        raise UnableToProgressOrder(_("未找到“户号”和“安装日期”两列。"))
    header_index, columns = header
    by_number = dict(order.lines.values_list("account_number", "pk"))
    problems = []
    dates: dict[int, dt.date] = {}
    for index, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        number = clean_digits(
            row[columns["account_number"]] if columns["account_number"] < len(row) else ""
        )
        raw = row[columns["date"]] if columns["date"] < len(row) else None
        if not number and raw in (None, ""):
            continue
        if not is_digits(number, 10):
            continue  # title rows, signature lines
        if number not in by_number:
            problems.append(
                _("第 %(row)d 行：户号 %(number)s 不在本工单中。")
                % {"row": index, "number": number}
            )
            continue
        day = _as_date(raw)
        if day is None:
            problems.append(
                _("第 %(row)d 行：“%(value)s”不是日期（应为 2026-10-08 这样的格式）。")
                % {"row": index, "value": clean_text(raw)}
            )
            continue
        dates[by_number[number]] = day
    if problems:
        raise UnableToProgressOrder(problems)
    if not dates:
        raise UnableToProgressOrder(_("表格中没有安装日期。"))
    return installation_dates_set(
        actor=actor, order_id=order_id, now=now, by_line=dates, expected_version=expected_version
    )


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = (
        clean_text(value)
        .replace("/", "-")
        .replace(".", "-")
        .replace("年", "-")
        .replace("月", "-")
        .replace("日", "")
    )
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


# ---------------------------------------------------------------- closure


def closure_record(
    *,
    actor: User,
    order_id: int,
    closure_date: dt.date,
    now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.REMOVAL, expected_version=expected_version
        )
        if closure_date > now.date() + dt.timedelta(days=1):
            raise UnableToProgressOrder(_("销户日期不能晚于今天。"))
        changes = [("closure_date", _text(order.closure_date), _text(closure_date))]
        order.closure_date = closure_date
        order.save(update_fields=["closure_date"])
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("拆表（销户）日期 %(day)s") % {"day": closure_date.isoformat()})  # fmt: skip


# ---------------------------------------------------------------- archive


def document_upload(
    *,
    actor: User,
    order_id: int,
    kind: str,
    upload: UploadedFile,
    now: dt.datetime,
    expected_version: int | None = None,
) -> ArchiveDocument:
    import os

    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.ARCHIVE, expected_version=expected_version
        )
        if kind not in REQUIRED_DOCUMENTS[order.kind]:
            raise UnableToProgressOrder(_("本工单不需要这类资料。"))
        name = upload.name or "file"
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in DOCUMENT_SUFFIXES:
            raise UnableToProgressOrder(
                _("不支持的文件类型 %(suffix)s：请上传 PDF、图片或 Office 文件。")
                % {"suffix": suffix or "?"}
            )
        if (upload.size or 0) > MAX_DOCUMENT_BYTES:
            raise UnableToProgressOrder(_("文件超过 30 MB。"))
        if not upload.size:
            raise UnableToProgressOrder(_("文件是空的。"))
        document = ArchiveDocument(
            order=order,
            kind=kind,
            original_name=name[:255],
            size=upload.size,
            uploaded_by=actor,
            uploaded_at=now,
        )
        document.file.save(f"{order.number}-{kind}{suffix}", upload, save=False)
        document.save()
        note = _("上传归档资料：%(kind)s") % {"kind": document.get_kind_display()}
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, note=note)
    return document
