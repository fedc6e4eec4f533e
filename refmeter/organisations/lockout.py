"""Login lock-out: django-axes' database handler with one limit per kind of counter.

axes records each failed login by user name and client address and counts them per
``AXES_LOCKOUT_PARAMETERS``; it has one limit for all of them. Here each counter has its
own limit (see settings): a user name from one address (``AXES_FAILURE_LIMIT``), one
address over any user names (password spraying), one user name from any addresses
(guessing from many machines).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def _limit(parameter: str | Sequence[str]) -> int:
    if parameter == "ip_address":
        return int(settings.REFMETER_LOGIN_ADDRESS_FAILURE_LIMIT)
    if parameter == "username":
        return int(settings.REFMETER_LOGIN_USERNAME_FAILURE_LIMIT)
    return int(settings.AXES_FAILURE_LIMIT)


class LoginLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        """Failures as axes compares them with AXES_FAILURE_LIMIT.

        Reaching any counter's own limit is reported as reaching AXES_FAILURE_LIMIT;
        otherwise the count of the user name at this address (below its limit) is given.
        """
        pair_limit = int(settings.AXES_FAILURE_LIMIT)
        pair_failures = 0
        locked = False
        for parameter, attempts in zip(
            settings.AXES_LOCKOUT_PARAMETERS,
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if not isinstance(parameter, str):
                pair_failures = max(pair_failures, failures)
            if failures >= _limit(parameter):
                locked = True
        return max(pair_failures, pair_limit) if locked else pair_failures

    def reset_user_attempts(self, request: Any, credentials: dict | None = None) -> int:
        """A successful login clears that user name's failures at that address only.

        axes would clear every failure of the address and of the user name, so that a
        sprayer who also holds one account could wipe the address's count by logging in.
        """
        count, _deleted = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count
