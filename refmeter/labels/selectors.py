"""Checking a scanned label, and what the scan page may show to whom."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.labels.models import Label, ScanLog, ScanResult, SigningKey
from refmeter.labels.tokens import (
    MalformedToken,
    TokenParts,
    public_key_load,
    signature_valid,
    token_read,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import unit_path_is_visible, unit_scope
from refmeter.registry.models import Group, Point, PointKind, PointStatus
from refmeter.registry.selectors import RecordNotVisible, group_base_account_and_multiplier

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
    # One query for a genuine label: the label with its key. (The point is read by
    # scan_view: a join of seven tables costs PostgreSQL more to plan than to run.)
    label = Label.objects.filter(serial=parts.serial).select_related("key").first()
    key = (
        label.key
        if label is not None and label.key.key_id == parts.key_id
        else SigningKey.objects.filter(key_id=parts.key_id).first()
    )
    if key is None:
        return LabelCheck(ScanResult.UNKNOWN_KEY, parts)
    if not signature_valid(parts, public_key_load(key.public_key)):
        return LabelCheck(ScanResult.FORGED, parts)
    if label is None or label.key_id != key.pk:
        return LabelCheck(ScanResult.UNKNOWN, parts)
    if label.account_number != parts.account_number:
        return LabelCheck(ScanResult.FORGED, parts)
    if label.voided_at is not None:
        return LabelCheck(ScanResult.VOIDED, parts, label)
    return LabelCheck(ScanResult.VALID, parts, label)


ANONYMOUS_SCAN_LOG_PERIOD = dt.timedelta(hours=1)


def anonymous_scan_to_log(
    *, check: LabelCheck, remote_address: str | None, now: dt.datetime
) -> bool:
    """Whether an anonymous scan goes into the scan log.

    Within an hour, one row per label (serial and account number) and result per client
    address, and at most ``REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR`` rows per address: a
    phone scanning one label again and again, or a probe trying forgeries, cannot grow
    the log without bound. Scans by logged-in staff are always logged.
    """
    recent = ScanLog.objects.filter(
        user__isnull=True,
        remote_address=remote_address,
        scanned_at__gt=now - ANONYMOUS_SCAN_LOG_PERIOD,
        scanned_at__lte=now,
    )
    same = Q(
        serial=check.parts.serial if check.parts else None,
        account_number=check.parts.account_number if check.parts else "",
        result=check.result,
    )
    counts = recent.aggregate(rows=Count("id"), same=Count("id", filter=same))
    if counts["same"]:
        return False
    return bool(counts["rows"] < int(settings.REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR))


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
    # What the page shows of the point, as values: two queries with its group's base
    # account and multiplier, cheaper than model instances or subqueries on a page that
    # every phone opens.
    points = Point.objects.values(
        *_SCANNED_POINT, *(_SCANNED_POINT_FOR_STAFF if authenticated else ())
    )
    point = (
        points.filter(pk=label.point_id)
        if label.point_id is not None
        else points.filter(account_number=label.account_number)
    ).first()
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
    base, multiplier = group_base_account_and_multiplier(group_id=point["group_id"], on_date=today)
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


_SCANNED_POINT = (
    "pk",
    "account_number",
    "name",
    "device_address",
    "status",
    "group_id",
    "group__customer__name",
    "access_point__number",
    "access_point__name",
    "area__number",
    "area__name",
)
_SCANNED_POINT_FOR_STAFF = (
    "group__unit__path",
    "group__customer__phone",
    "group__customer__registration_number",
    "group__customer__handler_name",
    "group__customer__handler_phone",
    "group__customer__outage_contact_name",
    "group__customer__outage_contact_phone",
    "group__customer__sms_number",
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
