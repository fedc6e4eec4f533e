from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from refmeter.common.sql import column, columns, fetch_one, instance, table
from refmeter.organisations.models import ApiToken, RequestCount, Role, SupplyUnit, User
from refmeter.organisations.permissions import Action, require, role_may


def user_may(*, user: Any, action: Action) -> bool:
    return role_may(user=user, action=action)


def unit_scope(*, user: User, unit_field: str = "unit") -> Q:
    """A filter keeping rows whose unit is the user's own unit or one under it.

    A superuser without a unit sees everything; any other user without a unit
    sees nothing.
    """
    if user.unit_id is None:
        return Q() if user.is_superuser else Q(pk__in=[])
    assert user.unit is not None
    return Q(**{f"{unit_field}__path__startswith": user.unit.path})


def units_visible_to(*, user: User) -> QuerySet[SupplyUnit]:
    if user.unit_id is None:
        return SupplyUnit.objects.all() if user.is_superuser else SupplyUnit.objects.none()
    assert user.unit is not None
    return SupplyUnit.objects.filter(path__startswith=user.unit.path)


def unit_is_visible(*, user: User, unit: SupplyUnit) -> bool:
    return unit_path_is_visible(user=user, path=unit.path)


def unit_path_is_visible(*, user: User, path: str) -> bool:
    """:func:`unit_is_visible` for the unit of that path."""
    if user.unit_id is None:
        return user.is_superuser
    assert user.unit is not None
    return path.startswith(user.unit.path)


# ---------------------------------------------------------------- API tokens


def key_hash(key: str) -> str:
    """What is stored of a token: its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_expiry(*, key: str) -> dt.datetime | None:
    return (
        ApiToken.objects.filter(key_hash=key_hash(key)).values_list("expires_at", flat=True).first()
    )


@functools.cache
def _token_statement() -> tuple[str, int, int]:
    token_fields, token_columns = columns(ApiToken, "t")
    user_fields, user_columns = columns(User, "u")
    _unit_fields, unit_columns = columns(SupplyUnit, "s")

    def counted(name: str) -> str:
        return f"c.{column(RequestCount, name)}"

    sql = (
        f"SELECT {token_columns}, {user_columns}, {unit_columns}, "
        f"(SELECT {counted('count')} FROM {table(RequestCount)} c WHERE {counted('scope')} = %s "
        f"AND {counted('client')} = %s AND {counted('window_start')} = %s LIMIT 1) "
        f"FROM {table(ApiToken)} t JOIN {table(User)} u ON u.{column(User, 'id')} = "
        f"t.{column(ApiToken, 'user')} LEFT JOIN {table(SupplyUnit)} s "
        f"ON s.{column(SupplyUnit, 'id')} = u.{column(User, 'unit')} "
        f"WHERE t.{column(ApiToken, 'key_hash')} = %s"
    )
    return sql, len(token_fields), len(user_fields)


def api_token_with_user(
    *, key: str, failure_scope: str, client: str, failure_window_start: dt.datetime
) -> tuple[ApiToken | None, int]:
    """The token of a key with its user and the user's unit, and the client address's
    failures in the window, in one prepared statement: every API request asks this, and
    building the query through the ORM cost more than running it."""
    sql, token_count, user_count = _token_statement()
    row = fetch_one(
        sql,
        [
            failure_scope,
            client,
            connection.ops.adapt_datetimefield_value(failure_window_start),
            key_hash(key),
        ],
    )
    if row is None:
        return None, 0
    token_fields = list(ApiToken._meta.concrete_fields)
    user_fields = list(User._meta.concrete_fields)
    unit_fields = list(SupplyUnit._meta.concrete_fields)
    user_end = token_count + user_count
    token = instance(ApiToken, token_fields, row[:token_count])
    user = instance(User, user_fields, row[token_count:user_end])
    unit_values = row[user_end : user_end + len(unit_fields)]
    if unit_values[0] is not None:
        user.unit = instance(SupplyUnit, unit_fields, unit_values)
    token.user = user
    return token, int(row[-1] or 0)


@dataclass(frozen=True)
class ApiTokenLine:
    username: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: str


def _token_state(token: ApiToken, now: dt.datetime) -> str:
    if token.revoked_at is not None:
        return _("已吊销")
    if not token.user.is_active:
        return _("用户已停用")
    if now >= token.expires_at:
        return _("已过期")
    if token.password_version != token.user.password_version:
        return _("密码已修改，已失效")
    return _("有效")


def api_tokens_list(*, username: str | None, now: dt.datetime) -> list[ApiTokenLine]:
    """Every token (of one user, if named), newest first, with its state and last use."""
    tokens = ApiToken.objects.select_related("user")
    if username:
        tokens = tokens.filter(user__username=username)
    return [
        ApiTokenLine(
            username=token.user.username,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
            state=_token_state(token, now),
        )
        for token in tokens.order_by("-created_at", "-id")
    ]


# ---------------------------------------------------------------- request counting


def window_start(*, now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """The start of the fixed window holding ``now``; windows are aligned on the epoch."""
    seconds = int(window.total_seconds())
    stamp = math.floor(now.timestamp())
    return dt.datetime.fromtimestamp(stamp - stamp % seconds, tz=dt.UTC)


def retry_after_seconds(*, now: dt.datetime, window: dt.timedelta) -> int:
    """Whole seconds until the window holding ``now`` ends (at least 1)."""
    end = window_start(now=now, window=window) + window
    return max(1, math.ceil((end - now).total_seconds()))


def request_count(*, scope: str, client: str, now: dt.datetime, window: dt.timedelta) -> int:
    """Requests of ``scope`` counted from ``client`` in the window holding ``now``."""
    return (
        RequestCount.objects.filter(
            scope=scope, client=client, window_start=window_start(now=now, window=window)
        )
        .values_list("count", flat=True)
        .first()
        or 0
    )


# ---------------------------------------------------------------- user administration


def may_grant(*, actor: User, unit: SupplyUnit, role: str) -> bool:
    """Whether ``actor`` may give ``role`` in ``unit``: administrators within their units,
    the administrator role only in a unit below their own; a superuser anything."""
    if actor.is_superuser and actor.is_active:
        return True
    if not role_may(user=actor, action=Action.MANAGE_USERS) or actor.unit is None:
        return False
    if not unit.path.startswith(actor.unit.path):
        return False
    return role != Role.ADMINISTRATOR or unit.path != actor.unit.path


def may_manage(*, actor: User, target: User) -> bool:
    """Whether ``actor`` may change ``target``: never themselves, a superuser or staff member
    only as a superuser, anyone else when ``actor`` may grant the role they hold."""
    if target.pk == actor.pk:
        return False
    if target.is_superuser or target.is_staff or target.unit is None:
        return actor.is_superuser and actor.is_active
    return may_grant(actor=actor, unit=target.unit, role=target.role)


def grantable_roles(*, actor: User, unit: SupplyUnit) -> list[Role]:
    return [role for role in Role if may_grant(actor=actor, unit=unit, role=role)]


def user_state(user: User) -> str:
    if user.is_active:
        return _("须修改密码") if user.must_change_password else _("在用")
    if user.deactivated_at is None and not user.has_usable_password():
        return _("待设置密码")
    return _("已停用")


@dataclass(frozen=True)
class UserLine:
    pk: int
    username: str
    full_name: str
    unit_code: str
    unit_name: str
    role: str
    role_label: str
    phone: str
    state: str
    last_login: dt.datetime | None
    live_tokens: int


USER_SORTS: dict[str, tuple[str, ...]] = {
    "username": ("username",),
    "name": ("first_name",),
    "unit": ("unit__path",),
    "role": ("role",),
    "last_login": ("last_login",),
}


def users_visible(*, actor: User) -> QuerySet[User]:
    """The users of the actor's units (a superuser: everyone); the role must allow it."""
    require(user=actor, action=Action.MANAGE_USERS)
    return User.objects.filter(unit_scope(user=actor))


def users_filter(
    users: QuerySet[User], *, text: str = "", unit: SupplyUnit | None = None, role: str = "",
    state: str = "",
) -> QuerySet[User]:  # fmt: skip
    if text:
        users = users.filter(Q(username__icontains=text) | Q(first_name__icontains=text))
    if unit is not None:
        users = users.filter(unit__path__startswith=unit.path)
    if role:
        users = users.filter(role=role)
    if state == "active":
        users = users.filter(is_active=True)
    elif state == "inactive":
        users = users.filter(is_active=False)
    elif state == "must_change":
        users = users.filter(is_active=True, must_change_password=True)
    return users


def user_lines(users: list[User], *, now: dt.datetime) -> list[UserLine]:
    """What the list shows of each user; ``users`` come annotated with ``live_tokens``."""
    return [
        UserLine(
            pk=user.pk,
            username=user.username,
            full_name=user.first_name,
            unit_code=user.unit.code if user.unit else "",
            unit_name=str(user.unit or ""),
            role=user.role,
            role_label=str(Role(user.role).label) if user.role else "",
            phone=user.phone,
            state=user_state(user),
            last_login=user.last_login,
            live_tokens=getattr(user, "live_tokens", 0),
        )
        for user in users
    ]


def with_live_tokens(users: QuerySet[User], *, now: dt.datetime) -> QuerySet[User]:
    live = Q(api_tokens__revoked_at__isnull=True, api_tokens__expires_at__gt=now)
    return users.select_related("unit").annotate(live_tokens=Count("api_tokens", filter=live))


def user_tokens(*, user: User, now: dt.datetime) -> list[tuple[ApiToken, str]]:
    return [
        (token, _token_state(token, now))
        for token in ApiToken.objects.filter(user=user).select_related("user")
    ]
