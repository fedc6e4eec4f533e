from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.organisations.models import ApiToken, Role, SupplyUnit, UnitKind, User


class UnableToCreateUnit(Exception):
    pass


class UnableToAuthenticateToken(Exception):
    pass


def supply_unit_create(
    *,
    code: str,
    name: str,
    kind: UnitKind,
    parent: SupplyUnit | None,
    account_prefix: str = "",
    actor: User | None = None,
    now: dt.datetime,
) -> SupplyUnit:
    if not code.isascii() or not code.isalnum():
        raise UnableToCreateUnit(_("单位编码只能包含字母和数字：%(code)s") % {"code": code})
    if account_prefix and not (account_prefix.isdigit() and 1 <= len(account_prefix) <= 4):
        raise UnableToCreateUnit(_("户号前缀应为 1 到 4 位数字。"))
    if SupplyUnit.objects.filter(code=code).exists():
        raise UnableToCreateUnit(_("单位编码 %(code)s 已存在。") % {"code": code})
    with transaction.atomic():
        unit = SupplyUnit.objects.create(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            path=(parent.path if parent else "") + code + "/",
            account_prefix=account_prefix,
        )
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="unit.create",
                subject_type="supply_unit",
                subject_id=unit.pk,
                subject_label=name,
                after={"code": code, "name": name, "kind": kind, "account_prefix": account_prefix},
            ),
        )
    return unit


def user_create(
    *,
    username: str,
    password: str,
    unit: SupplyUnit | None,
    role: Role | str,
    full_name: str = "",
    is_superuser: bool = False,
    actor: User | None = None,
    now: dt.datetime,
) -> User:
    with transaction.atomic():
        user = User(
            username=username,
            first_name=full_name,
            unit=unit,
            role=role,
            is_staff=is_superuser,
            is_superuser=is_superuser,
        )
        user.set_password(password)
        user.save()
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="user.create",
                subject_type="user",
                subject_id=user.pk,
                subject_label=username,
                after={"unit": unit.code if unit else None, "role": str(role)},
            ),
        )
    return user


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, name: str, now: dt.datetime) -> str:
    """Returns the token once; only its hash is kept."""
    key = "rm_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, key_hash=_hash(key), prefix=key[:8], created_at=now
        )
        audit_record(
            actor=user,
            occurred_at=now,
            change=AuditChange(
                action="api_token.create",
                subject_type="api_token",
                subject_id=token.pk,
                subject_label=f"{user.username}: {name}",
            ),
        )
    return key


def api_token_authenticate(*, key: str, now: dt.datetime) -> User:
    token = (
        ApiToken.objects.select_related("user", "user__unit")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        raise UnableToAuthenticateToken(_("接口令牌无效或已吊销。"))
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
