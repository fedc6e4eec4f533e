"""Issuing and voiding labels, managing the signing keys, and logging scans."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.sql import column, execute, table
from refmeter.labels.models import Label, LabelCounter, ScanLog, SigningKey
from refmeter.labels.selectors import (
    LabelCheck,
    LabelTarget,
    label_check,
    scan_url,
)
from refmeter.labels.tokens import (
    private_key_load,
    private_key_text,
    public_key_text,
    token_make,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require


class UnableToIssueLabels(Exception):
    pass


class UnableToRotateKey(Exception):
    pass


@dataclass(frozen=True)
class IssuedLabel:
    serial: int
    account_number: str
    name: str
    short_address: str
    token: str
    url: str


def _next_key_id() -> int:
    last = SigningKey.objects.order_by("-key_id").values_list("key_id", flat=True).first() or 0
    if last >= 255:
        raise UnableToRotateKey(_("签名密钥编号已用完（最多 255 个）。"))
    return last + 1


def signing_key_current(*, now: dt.datetime) -> tuple[SigningKey, Ed25519PrivateKey]:
    """The key new labels are signed with: the configured one, else the newest generated
    one, generating the first on first use."""
    configured = getattr(settings, "REFMETER_LABEL_SIGNING_KEY", "")
    with transaction.atomic():
        if configured:
            private = private_key_load(configured)
            public = public_key_text(private.public_key())
            key = SigningKey.objects.filter(public_key=public).first()
            if key is None:
                key = SigningKey.objects.create(
                    key_id=_next_key_id(), public_key=public, created_at=now
                )
            if key.retired_at is not None:
                raise UnableToIssueLabels(_("配置的标签签名密钥已停用，请配置新的密钥。"))
            return key, private
        key = (
            SigningKey.objects.select_for_update()
            .filter(retired_at__isnull=True)
            .exclude(private_key="")
            .order_by("-key_id")
            .first()
        )
        if key is None:
            private = Ed25519PrivateKey.generate()
            key = SigningKey.objects.create(
                key_id=_next_key_id(),
                public_key=public_key_text(private.public_key()),
                private_key=private_key_text(private),
                created_at=now,
            )
            return key, private
        return key, private_key_load(key.private_key)


def signing_key_rotate(*, now: dt.datetime) -> SigningKey:
    """A new key for new labels; labels signed with the old one stay valid until voided."""
    if getattr(settings, "REFMETER_LABEL_SIGNING_KEY", ""):
        raise UnableToRotateKey(
            _("签名密钥来自配置（REFMETER_LABEL_SIGNING_KEY）：请更换配置中的密钥。")
        )
    with transaction.atomic():
        SigningKey.objects.filter(retired_at__isnull=True).exclude(private_key="").update(
            retired_at=now
        )
        private = Ed25519PrivateKey.generate()
        return SigningKey.objects.create(
            key_id=_next_key_id(),
            public_key=public_key_text(private.public_key()),
            private_key=private_key_text(private),
            created_at=now,
        )


@dataclass(frozen=True)
class PreparedLabels:
    """Labels with their serials reserved and their tokens signed, ready to be drawn;
    nothing is issued (and no earlier label voided) until :func:`labels_commit`."""

    key: SigningKey
    first_serial: int
    targets: tuple[LabelTarget, ...]
    labels: tuple[IssuedLabel, ...]


def labels_prepare(
    *, actor: User | None, targets: Sequence[LabelTarget], now: dt.datetime
) -> PreparedLabels:
    """Reserve serials for these points' new labels and sign them, so a PDF can be drawn
    before anything is issued. A preparation never committed (the drawing failed, the
    worker died) leaves only unused serials: their tokens scan as never issued."""
    if actor is not None:
        require(user=actor, action=Action.PRINT_LABELS)
    if not targets:
        raise UnableToIssueLabels(_("没有需要打印标签的点位。"))
    numbers = [target.account_number for target in targets]
    if len(set(numbers)) != len(numbers):
        raise UnableToIssueLabels(_("同一个户号在一次打印中出现了两次。"))
    key, private = signing_key_current(now=now)
    with transaction.atomic():
        counter = LabelCounter.objects.select_for_update().order_by("pk").first()
        if counter is None:
            counter = LabelCounter.objects.create(last=0)
        first = counter.last + 1
        if counter.last + len(targets) >= 2**32:
            raise UnableToIssueLabels(_("标签序号已用完。"))
        counter.last += len(targets)
        counter.save(update_fields=["last"])
    labels = []
    for index, target in enumerate(targets):
        token = token_make(
            key_id=key.key_id,
            serial=first + index,
            account_number=target.account_number,
            private_key=private,
        )
        labels.append(
            IssuedLabel(
                serial=first + index,
                account_number=target.account_number,
                name=target.name[:200],
                short_address=target.short_address[:300],
                token=token,
                url=scan_url(token),
            )
        )
    return PreparedLabels(key=key, first_serial=first, targets=tuple(targets), labels=tuple(labels))


def labels_commit(
    *, actor: User | None, prepared: PreparedLabels, batch: str, now: dt.datetime
) -> int:
    """Issue prepared labels and void the points' earlier labels (a reprint), in one
    transaction: run it inside the transaction that records the printed file, so labels
    are voided only together with the file that replaces them. Issuing the same prepared
    labels twice is refused (their serials are unique). Returns how many were voided."""
    numbers = [target.account_number for target in prepared.targets]
    with transaction.atomic():
        voided = Label.objects.filter(account_number__in=numbers, voided_at__isnull=True).update(
            voided_at=now, void_reason=_("重印")
        )
        labels = [
            Label(
                serial=issued.serial,
                account_number=issued.account_number,
                name=issued.name,
                short_address=issued.short_address,
                point_id=target.point_id,
                key=prepared.key,
                issued_at=now,
                issued_by=actor,
                batch=batch[:64],
            )
            for issued, target in zip(prepared.labels, prepared.targets, strict=True)
        ]
        try:
            with transaction.atomic():
                Label.objects.bulk_create(labels, batch_size=2000)
        except IntegrityError as error:
            raise UnableToIssueLabels(_("标签签发冲突，请重试。")) from error
        audit_record(
            actor=actor,
            occurred_at=now,
            reason=batch,
            change=AuditChange(
                action="labels.issue",
                subject_type="label_batch",
                subject_id=prepared.first_serial,
                subject_label=batch,
                after={
                    "labels": len(labels),
                    "first_serial": prepared.first_serial,
                    "voided": voided,
                },
            ),
        )
    return voided


def labels_issue(
    *, actor: User | None, targets: Sequence[LabelTarget], batch: str, now: dt.datetime
) -> list[IssuedLabel]:
    """New labels for these points at once; a point's earlier label is voided (a reprint).
    Printing uses :func:`labels_prepare` and :func:`labels_commit` around the drawing."""
    prepared = labels_prepare(actor=actor, targets=targets, now=now)
    labels_commit(actor=actor, prepared=prepared, batch=batch, now=now)
    return list(prepared.labels)


def label_void(*, actor: User, serial: int, reason: str, now: dt.datetime) -> Label:
    require(user=actor, action=Action.PRINT_LABELS)
    with transaction.atomic():
        label = Label.objects.select_for_update().filter(serial=serial).first()
        if label is None:
            raise UnableToIssueLabels(_("没有序号为 %(serial)d 的标签。") % {"serial": serial})
        if label.voided_at is None:
            label.voided_at = now
            label.void_reason = reason[:200] or _("作废")
            label.save(update_fields=["voided_at", "void_reason"])
            audit_record(
                actor=actor,
                occurred_at=now,
                reason=label.void_reason,
                change=AuditChange(
                    action="label.void",
                    subject_type="label",
                    subject_id=label.pk,
                    subject_label=f"{label.serial} {label.account_number}",
                ),
            )
    return label


def scan_record(
    *,
    token: str,
    user: object,
    now: dt.datetime,
    remote_address: str | None = None,
    via: str = "page",
) -> LabelCheck:
    """Check a scanned token and log the scan, whatever its result."""
    check = label_check(token)
    _scan_log_write(check=check, user=user, now=now, remote_address=remote_address, via=via)
    return check


ANONYMOUS_SCAN_LOG_PERIOD = dt.timedelta(hours=1)


def scan_log_anonymous(*, check: LabelCheck, remote_address: str | None, now: dt.datetime) -> bool:
    """Log an anonymous scan of the page, sparingly; whether it was logged. The page calls
    it after its answer has been sent.

    Within an hour, one row per label (serial and account number) and result per client
    address, and at most ``REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR`` rows per address: a
    phone scanning one label again and again, or a probe trying forgeries, cannot grow
    the log without bound. Scans by logged-in staff are always logged (``scan_record``).
    One statement: the rule is the INSERT's condition.
    """
    serial = check.parts.serial if check.parts else None
    account = check.parts.account_number if check.parts else ""
    since = now - ANONYMOUS_SCAN_LOG_PERIOD
    adapt = connection.ops.adapt_datetimefield_value
    logged = execute(
        _anonymous_scan_insert_sql(address_known=remote_address is not None, serial_known=serial is not None),
        [
            adapt(now), check.label.pk if check.label else None, serial, account, check.result,
            remote_address,
            *([remote_address] if remote_address is not None else []), adapt(since), adapt(now),
            *([serial] if serial is not None else []), account, check.result,
            *([remote_address] if remote_address is not None else []), adapt(since), adapt(now),
            int(settings.REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR),
        ],
    )  # fmt: skip
    return logged == 1


@functools.cache
def _anonymous_scan_insert_sql(*, address_known: bool, serial_known: bool) -> str:
    def col(name: str) -> str:
        return column(ScanLog, name)

    # The address's anonymous rows of the last hour; "= %s" rather than a null-safe
    # comparison so that the partial index on (address, time) serves both subqueries.
    recent = (
        f"{col('user')} IS NULL AND {col('remote_address')} "
        + ("= %s" if address_known else "IS NULL")
        + f" AND {col('scanned_at')} > %s AND {col('scanned_at')} <= %s"
    )
    same = (
        f"{col('serial')} " + ("= %s" if serial_known else "IS NULL")
        + f" AND {col('account_number')} = %s AND {col('result')} = %s"
    )  # fmt: skip
    columns = ", ".join(
        col(name)
        for name in ("scanned_at", "label", "serial", "account_number", "result", "remote_address", "user", "via")
    )  # fmt: skip
    return (
        f"INSERT INTO {table(ScanLog)} ({columns}) "
        "SELECT %s, %s, %s, %s, %s, %s, NULL, 'page' "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table(ScanLog)} WHERE {recent} AND {same}) "
        f"AND (SELECT COUNT(*) FROM {table(ScanLog)} WHERE {recent}) < %s"
    )


def _scan_log_write(
    *, check: LabelCheck, user: object, now: dt.datetime, remote_address: str | None, via: str
) -> None:
    authenticated = getattr(user, "is_authenticated", False)
    ScanLog.objects.create(
        scanned_at=now,
        label=check.label,
        serial=check.parts.serial if check.parts else None,
        account_number=check.parts.account_number if check.parts else "",
        user=user if authenticated else None,  # type: ignore[misc]
        result=check.result,
        remote_address=remote_address,
        via=via,
    )
