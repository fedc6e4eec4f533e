"""Checking a scanned label, and what the scan page may show to whom."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.common.sql import column, fetch_one, table
from refmeter.labels.models import Label, ScanLog, ScanResult, SigningKey
from refmeter.labels.tokens import (
    MalformedToken,
    TokenParts,
    public_key_load,
    signature_valid,
    token_read,
)
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_path_is_visible, unit_scope
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    Group,
    Point,
    PointKind,
    PointStatus,
    TransformerArea,
)
from refmeter.registry.selectors import RecordNotVisible

REASONS = {
    ScanResult.MALFORMED: _lazy("这不是本系统签发的标签二维码。"),
    ScanResult.UNKNOWN_KEY: _lazy("标签的签名密钥不是本系统的密钥，可能是伪造的标签。"),
    ScanResult.FORGED: _lazy("标签签名校验失败：内容被篡改或标签是伪造的。"),
    ScanResult.UNKNOWN: _lazy("该标签序号未在系统中签发。"),
    ScanResult.VOIDED: _lazy("该标签已作废（已重印或点位已撤销），请以新标签为准。"),
}


@dataclass(frozen=True)
class LabelCheck:
    result: str
    parts: TokenParts | None = None
    label: Label | None = None

    @property
    def valid(self) -> bool:
        return self.result == ScanResult.VALID

    @property
    def reason(self) -> str:
        reason = REASONS.get(ScanResult(self.result))
        return str(reason) if reason else ""


def label_check(token: str) -> LabelCheck:
    """Decide whether a token is a genuine, current label of this system."""
    try:
        parts = token_read(token)
    except MalformedToken:
        return LabelCheck(ScanResult.MALFORMED)
    # One statement for a genuine label: the label with its key (every phone that scans a
    # label passes here, and the ORM took longer to build the query than the database to
    # answer it).
    row = fetch_one(_label_with_key_sql(), [parts.serial])
    label = _label_from_row(row) if row is not None else None
    if row is not None and row[-2] == parts.key_id:
        public_key = row[-1]
    else:
        key = SigningKey.objects.filter(key_id=parts.key_id).first()
        if key is None:
            return LabelCheck(ScanResult.UNKNOWN_KEY, parts)
        public_key = key.public_key
        if label is not None and label.key_id != key.pk:
            label = None  # a serial of another key: not a label this key signed
    if not signature_valid(parts, _public_key(public_key)):
        return LabelCheck(ScanResult.FORGED, parts)
    if label is None:
        return LabelCheck(ScanResult.UNKNOWN, parts)
    if label.account_number != parts.account_number:
        return LabelCheck(ScanResult.FORGED, parts)
    if label.voided_at is not None:
        return LabelCheck(ScanResult.VOIDED, parts, label)
    return LabelCheck(ScanResult.VALID, parts, label)


_LABEL_FIELDS = (
    "id",
    "serial",
    "account_number",
    "name",
    "short_address",
    "point",
    "key",
    "voided_at",
)


@functools.cache
def _label_with_key_sql() -> str:
    columns = ", ".join(f"l.{column(Label, name)}" for name in _LABEL_FIELDS)
    return (
        f"SELECT {columns}, k.{column(SigningKey, 'key_id')}, k.{column(SigningKey, 'public_key')} "
        f"FROM {table(Label)} l JOIN {table(SigningKey)} k ON k.{column(SigningKey, 'id')} = "
        f"l.{column(Label, 'key')} WHERE l.{column(Label, 'serial')} = %s"
    )


def _label_from_row(row: tuple[Any, ...]) -> Label:
    label_id, serial, account, name, address, point_id, key_id, voided_at = row[:8]
    if isinstance(voided_at, str):  # SQLite hands raw statements' timestamps back as text
        voided_at = parse_datetime(voided_at)
    return Label(
        id=label_id,
        serial=serial,
        account_number=account,
        name=name,
        short_address=address,
        point_id=point_id,
        key_id=key_id,
        voided_at=voided_at,
    )


@functools.lru_cache(maxsize=64)
def _public_key(text: str) -> Ed25519PublicKey:
    return public_key_load(text)


def scan_url(token: str) -> str:
    return settings.REFMETER_LABEL_BASE_URL.rstrip("/") + "/s/" + token


@dataclass(frozen=True)
class ScanView:
    """What the scan page shows. Personal data is filled in only for staff of the point's units."""

    valid: bool
    result: str
    reason: str
    serial: int | None
    account_number: str
    name: str = ""
    device_address: str = ""
    access_point: str = ""
    area: str = ""
    customer: str = ""
    base_account_number: str = ""
    group_multiplier: int | None = None
    status: str = ""
    installed: bool = False
    point_id: int | None = None
    personal: dict[str, str] = field(default_factory=dict)
    full_view: bool = False


def scan_view(*, check: LabelCheck, user: Any, today: dt.date) -> ScanView:
    serial = check.parts.serial if check.parts else None
    account = check.parts.account_number if check.parts else ""
    if not check.valid or check.label is None:
        return ScanView(False, check.result, check.reason, serial, account)
    label = check.label
    authenticated = bool(getattr(user, "is_authenticated", False))
    point = _scanned_point(label=label, on_date=today)
    if point is None:
        # Printed before connection: the point enters the registry at installation entry.
        return ScanView(
            valid=True,
            result=check.result,
            reason=_("标签有效；该点位尚未完成安装信息录入（接电）。"),
            serial=serial,
            account_number=account,
            name=label.name,
            device_address=label.short_address,
        )
    base, multiplier = point["base_account_number"] or "", int(point["multiplier"])
    full = authenticated and unit_path_is_visible(user=user, path=point["group__unit__path"])
    personal = (
        {
            _("客户联系电话"): point["group__customer__phone"],
            _("证件号码"): point["group__customer__registration_number"],
            _("经办人"): (
                f"{point['group__customer__handler_name']} {point['group__customer__handler_phone']}"
            ).strip(),
            _("停电联系人"): (
                f"{point['group__customer__outage_contact_name']} "
                f"{point['group__customer__outage_contact_phone']}"
            ).strip(),
            _("短信号码"): point["group__customer__sms_number"],
        }
        if full
        else {}
    )
    return ScanView(
        valid=True,
        result=check.result,
        reason="",
        serial=serial,
        account_number=point["account_number"],
        name=point["name"],
        device_address=point["device_address"],
        access_point=(
            f"{point['access_point__number']} {point['access_point__name']}"
            if point["access_point__number"] is not None
            else ""
        ),
        area=(
            f"{point['area__number']} {point['area__name']}"
            if point["area__number"] is not None
            else ""
        ),
        customer=point["group__customer__name"],
        base_account_number=base,
        group_multiplier=multiplier,
        status=str(dict(PointStatus.choices).get(point["status"], point["status"])),
        installed=True,
        point_id=point["pk"],
        personal=personal,
        full_view=full,
    )


# What the scan page reads of the point, its group, customer, access point, area and unit.
_SCANNED_POINT = (
    (Point, "p", ("id", "account_number", "name", "device_address", "status", "group")),
    (Customer, "c", ("name",)),
    (AccessPoint, "ap", ("number", "name")),
    (TransformerArea, "a", ("number", "name")),
    (SupplyUnit, "u", ("path",)),
    (
        Customer,
        "c",
        (
            "phone",
            "registration_number",
            "handler_name",
            "handler_phone",
            "outage_contact_name",
            "outage_contact_phone",
            "sms_number",
        ),
    ),
)
_SCANNED_POINT_KEYS = (
    "pk", "account_number", "name", "device_address", "status", "group_id",
    "group__customer__name", "access_point__number", "access_point__name", "area__number",
    "area__name", "group__unit__path", "group__customer__phone",
    "group__customer__registration_number", "group__customer__handler_name",
    "group__customer__handler_phone", "group__customer__outage_contact_name",
    "group__customer__outage_contact_phone", "group__customer__sms_number",
    "base_account_number", "multiplier",
)  # fmt: skip


def _scanned_point(*, label: Label, on_date: dt.date) -> dict[str, Any] | None:
    """The labelled point as the scan page shows it, with its group's base account and
    multiplier that day: one statement (a page every phone opens)."""
    by_id = label.point_id is not None
    day = connection.ops.adapt_datefield_value(on_date)
    row = fetch_one(
        _scanned_point_sql(by_id=by_id),
        [day, day, label.point_id if by_id else label.account_number],
    )
    return dict(zip(_SCANNED_POINT_KEYS, row, strict=True)) if row is not None else None


@functools.cache
def _scanned_point_sql(*, by_id: bool) -> str:
    def point(name: str, alias: str = "p") -> str:
        return f"{alias}.{column(Point, name)}"

    selected = ", ".join(
        f"{alias}.{column(model, name)}" for model, alias, names in _SCANNED_POINT for name in names
    )
    active = (
        f"{point('active_from_date', 'm')} <= %s AND ({point('active_to_date', 'm')} IS NULL "
        f"OR {point('active_to_date', 'm')} > %s)"
    )
    return (
        f"SELECT {selected}, "
        f"(SELECT MAX({point('account_number', 'b')}) FROM {table(Point)} b "
        f"WHERE {point('group', 'b')} = {point('group')} AND {point('kind', 'b')} = "
        f"'{PointKind.BASE.value}'), "
        f"(SELECT COUNT(*) FROM {table(Point)} m WHERE {point('group', 'm')} = {point('group')} "
        f"AND {active}) "
        f"FROM {table(Point)} p "
        f"JOIN {table(Group)} g ON g.{column(Group, 'id')} = {point('group')} "
        f"JOIN {table(Customer)} c ON c.{column(Customer, 'id')} = g.{column(Group, 'customer')} "
        f"JOIN {table(SupplyUnit)} u ON u.{column(SupplyUnit, 'id')} = g.{column(Group, 'unit')} "
        f"LEFT JOIN {table(AccessPoint)} ap "
        f"ON ap.{column(AccessPoint, 'id')} = {point('access_point')} "
        f"LEFT JOIN {table(TransformerArea)} a "
        f"ON a.{column(TransformerArea, 'id')} = {point('area')} "
        f"WHERE {point('id') if by_id else point('account_number')} = %s"
    )


@dataclass(frozen=True)
class ScanLine:
    scanned_at: dt.datetime
    serial: int | None
    result: str
    result_label: str
    user: str


def point_scans(*, user: User, point_id: int, limit: int = 200) -> list[ScanLine]:
    point = Point.objects.filter(
        unit_scope(user=user, unit_field="group__unit"), pk=point_id
    ).first()
    if point is None:
        raise RecordNotVisible(_("未找到该用电点，或它不属于您所在单位及下属单位。"))
    scans = ScanLog.objects.filter(account_number=point.account_number).select_related("user")
    return [
        ScanLine(
            scanned_at=scan.scanned_at,
            serial=scan.serial,
            result=scan.result,
            result_label=scan.get_result_display(),
            user=(scan.user.get_full_name() or scan.user.get_username()) if scan.user else "",
        )
        for scan in scans[:limit]
    ]


def public_keys() -> list[dict[str, Any]]:
    return [
        {
            "key_id": key.key_id,
            "algorithm": "Ed25519",
            "public_key": key.public_key,
            "created_at": key.created_at,
            "retired_at": key.retired_at,
        }
        for key in SigningKey.objects.order_by("key_id")
    ]


# ---------------------------------------------------------------- what to print


@dataclass(frozen=True)
class LabelTarget:
    account_number: str
    name: str
    short_address: str
    point_id: int | None = None


def labels_in_force_count(*, targets: list[LabelTarget]) -> int:
    """How many labels still in force a print of ``targets`` would void."""
    from refmeter.labels.models import Label

    point_ids = [target.point_id for target in targets if target.point_id is not None]
    return Label.objects.filter(point_id__in=point_ids, voided_at__isnull=True).count()


def _point_targets(points: Any) -> list[LabelTarget]:
    return [
        LabelTarget(
            account_number=point.account_number,
            name=point.name,
            short_address=point.device_address,
            point_id=point.pk,
        )
        for point in points.order_by("kind", "account_number")
    ]


def targets_for_group(*, user: User | None, group_id: int) -> list[LabelTarget]:
    if user is not None:
        require(user=user, action=Action.PRINT_LABELS)
    if user is not None and not Group.objects.filter(unit_scope(user=user), pk=group_id).exists():
        raise RecordNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    return _point_targets(Point.objects.filter(group_id=group_id).exclude(status="cancelled"))


def targets_for_points(*, user: User, point_ids: list[int]) -> list[LabelTarget]:
    require(user=user, action=Action.PRINT_LABELS)
    points = Point.objects.filter(
        unit_scope(user=user, unit_field="group__unit"), pk__in=point_ids
    ).exclude(status="cancelled")
    if points.count() != len(set(point_ids)):
        raise RecordNotVisible(_("有的用电点不存在、已取消，或不属于您所在单位及下属单位。"))
    return _point_targets(points)


def targets_for_order(*, user: User, order_id: int) -> list[LabelTarget]:
    """Labels for a work order's new and changed points, printed before going out to connect."""
    require(user=user, action=Action.PRINT_LABELS)
    from refmeter.workorders.models import LineAction, WorkOrderLine
    from refmeter.workorders.selectors import order_get

    order = order_get(user=user, order_id=order_id)
    lines = WorkOrderLine.objects.filter(order=order).exclude(action=LineAction.CANCEL)
    missing = lines.filter(account_number="").count()
    if missing:
        raise RecordNotVisible(_("还有点位没有户号：请先在勘察环节生成户号。"))
    existing = dict(
        Point.objects.filter(account_number__in=lines.values("account_number")).values_list(
            "account_number", "pk"
        )
    )
    return [
        LabelTarget(
            account_number=line.account_number,
            name=line.name,
            short_address=line.device_address,
            point_id=existing.get(line.account_number),
        )
        for line in lines.order_by("line_number")
    ]


def base_account_of_group(*, group_id: int) -> str:
    return (
        Point.objects.filter(group_id=group_id, kind=PointKind.BASE)
        .values_list("account_number", flat=True)
        .first()
        or ""
    )
