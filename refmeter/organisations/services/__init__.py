from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.sql import fetch_one
from refmeter.organisations.models import (
    ApiToken,
    RequestCount,
    Role,
    SupplyUnit,
    UnitKind,
    User,
)
from refmeter.organisations.selectors import (
    api_token_with_user,
    key_hash,
    request_count,
    retry_after_seconds,
    window_start,
)

logger = logging.getLogger(__name__)


class UnableToCreateUnit(Exception):
    pass


class UnableToAuthenticateToken(Exception):
    pass


class UnableToCreateToken(Exception):
    pass


class TooManyRequests(Exception):
    """Too many requests of one kind from one client address; try again after retry_after s."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


TOKEN_FAILURES = "api_token_failure"
TOKEN_FAILURE_WINDOW = dt.timedelta(minutes=15)
# Last use is written at most this often per token.
LAST_USE_RESOLUTION = dt.timedelta(minutes=1)


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


MAX_TOKEN_DAYS = 3650


def api_token_create(*, user: User, name: str, now: dt.datetime, days: int | None = None) -> str:
    """Returns the token once; only its hash is kept.

    The token expires after ``days`` (default ``REFMETER_API_TOKEN_DAYS``) and stops
    working as soon as the user's password is changed.
    """
    days = int(settings.REFMETER_API_TOKEN_DAYS) if days is None else days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UnableToCreateToken(_("有效天数应在 1 到 %(most)d 之间。") % {"most": MAX_TOKEN_DAYS})
    key = "rm_" + secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(days=days)
    with transaction.atomic():
        # The stored version, not the one of a user object loaded before a password change.
        password_version = (
            User.objects.filter(pk=user.pk).values_list("password_version", flat=True).get()
        )
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=key_hash(key),
            prefix=key[:8],
            created_at=now,
            expires_at=expires_at,
            password_version=password_version,
        )
        audit_record(
            actor=user,
            occurred_at=now,
            change=AuditChange(
                action="api_token.create",
                subject_type="api_token",
                subject_id=token.pk,
                subject_label=f"{user.username}: {name}",
                after={"expires_at": expires_at.isoformat()},
            ),
        )
    return key


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _too_many_token_failures(*, now: dt.datetime) -> TooManyRequests:
    retry_after = retry_after_seconds(now=now, window=TOKEN_FAILURE_WINDOW)
    return TooManyRequests(
        _("接口令牌校验失败次数过多，请 %(minutes)d 分钟后再试。")
        % {"minutes": _minutes(retry_after)},
        retry_after=retry_after,
    )


def api_token_authenticate(
    *,
    key: str,
    now: dt.datetime,
    client: str = "",
    defer: Callable[[Callable[[], None]], None] | None = None,
) -> User:
    """The user a bearer token acts as, or why not.

    Unknown tokens count against the client address: after
    ``REFMETER_API_TOKEN_FAILURE_LIMIT`` of them in a 15-minute window every token from
    that address is refused with TooManyRequests until the window ends. Tokens that
    exist but expired, were revoked or outlived a password change do not count: they
    are a client to fix, not someone guessing.

    A known token costs one query: the token, its user and unit, and the address's count
    of failures, together. Its last use (at most once a minute) is written by ``defer``
    if given (the API writes it after the answer is sent), else at once.
    """
    limit = int(settings.REFMETER_API_TOKEN_FAILURE_LIMIT)
    token, failures = api_token_with_user(
        key=key,
        failure_scope=TOKEN_FAILURES,
        client=client,
        failure_window_start=window_start(now=now, window=TOKEN_FAILURE_WINDOW),
    )
    if token is None:
        if (
            request_count(scope=TOKEN_FAILURES, client=client, now=now, window=TOKEN_FAILURE_WINDOW)
            >= limit
        ):
            raise _too_many_token_failures(now=now)
        request_count_add(scope=TOKEN_FAILURES, client=client, now=now, window=TOKEN_FAILURE_WINDOW)
        raise UnableToAuthenticateToken(_("接口令牌无效或已吊销。"))
    if failures >= limit:
        raise _too_many_token_failures(now=now)
    if token.revoked_at is not None or not token.user.is_active:
        raise UnableToAuthenticateToken(_("接口令牌无效或已吊销。"))
    if now >= token.expires_at:
        raise UnableToAuthenticateToken(
            _("接口令牌已于 %(when)s 过期，请重新签发。")
            % {"when": timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")}
        )
    if token.password_version != token.user.password_version:
        raise UnableToAuthenticateToken(
            _("该用户的密码已修改，此前签发的接口令牌已失效，请重新签发。")
        )
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        (defer or _now)(functools.partial(_last_use_record, token_id=token.pk, now=now))
    return token.user


def _now(work: Callable[[], None]) -> None:
    work()


def _last_use_record(*, token_id: int, now: dt.datetime) -> None:
    """Note the use at most once a minute, never waiting for or failing on it.

    A row another request is updating is skipped (PostgreSQL's SKIP LOCKED), and a
    database error here is logged, not raised: the request goes on either way.
    """
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USE_RESOLUTION)
    try:
        with transaction.atomic():
            ids = list(
                ApiToken.objects.select_for_update(skip_locked=True)
                .filter(stale, pk=token_id)
                .values_list("pk", flat=True)
            )
            if ids:
                ApiToken.objects.filter(pk__in=ids).update(last_used_at=now)
    except DatabaseError:
        logger.warning("Could not record the last use of API token %s", token_id, exc_info=True)


# ---------------------------------------------------------------- request counting


def request_count_add(*, scope: str, client: str, now: dt.datetime, window: dt.timedelta) -> None:
    """Count one request of ``scope`` from ``client`` in the window that holds ``now``."""
    start = window_start(now=now, window=window)
    counted = RequestCount.objects.filter(scope=scope, client=client, window_start=start)
    with transaction.atomic():
        if counted.update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                RequestCount.objects.create(scope=scope, client=client, window_start=start, count=1)
        except IntegrityError:
            # Another request opened the same window first.
            counted.update(count=F("count") + 1)
        else:
            # The first count of a new window: windows are aligned, so every earlier one
            # has ended and its counts are of no more use.
            RequestCount.objects.filter(scope=scope, window_start__lt=start).delete()


# The window of each scope whose ended windows this process has deleted already.
_windows_cleared: dict[str, dt.datetime] = {}


def request_admit(
    *, scope: str, client: str, limit: int, now: dt.datetime, window: dt.timedelta
) -> None:
    """Count this request, or refuse it when ``limit`` requests came in this window already.

    A refused request writes nothing. One statement (an upsert that counts only while
    under the limit), since every anonymous scan passes here.
    """
    start = window_start(now=now, window=window)
    table = connection.ops.quote_name(RequestCount._meta.db_table)
    counted = fetch_one(
        f"INSERT INTO {table} (scope, client, window_start, count) VALUES (%s, %s, %s, 1) "
        "ON CONFLICT (scope, client, window_start) "
        f"DO UPDATE SET count = {table}.count + 1 WHERE {table}.count < %s "
        "RETURNING count",
        [scope, client, connection.ops.adapt_datetimefield_value(start), limit],
    )
    if counted is None:
        retry_after = retry_after_seconds(now=now, window=window)
        raise TooManyRequests(
            _("请求过于频繁，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(retry_after)},
            retry_after=retry_after,
        )
    if counted[0] == 1 and _windows_cleared.get(scope) != start:
        # The first count of a new window: windows are aligned, so every earlier one has
        # ended and its counts are of no more use.
        RequestCount.objects.filter(scope=scope, window_start__lt=start).delete()
        _windows_cleared[scope] = start
