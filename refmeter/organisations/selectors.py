from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from refmeter.organisations.models import ApiToken, RequestCount, SupplyUnit, User
from refmeter.organisations.permissions import Action, role_may


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
