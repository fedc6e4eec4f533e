"""What every billing service shares: rounding, the refusal, the role check."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, ActionNotAllowed, require
from refmeter.organisations.selectors import unit_is_visible

CENT = Decimal("0.01")
REGISTERS = ("sharp", "peak", "flat", "valley")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def energy(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class UnableToBill(Exception):
    pass


def require_billing(user: User | None, action: Action = Action.RUN_BILLING) -> None:
    """The billing action's role check; ``None`` is the operator at the command line."""
    if user is None:
        return
    require(user=user, action=action)


def may_bill(user: User, action: Action = Action.RUN_BILLING) -> bool:
    """Whether to offer billing actions to this user (the services check again)."""
    try:
        require_billing(user, action)
    except ActionNotAllowed:
        return False
    return True


def require_billing_for_unit(
    user: User | None, unit: SupplyUnit, action: Action = Action.RUN_BILLING
) -> None:
    """Billing staff act only for their own unit and the units under it."""
    require_billing(user, action)
    if user is not None and not unit_is_visible(user=user, unit=unit):
        raise ActionNotAllowed(_("您只能为本单位及下属单位办理电费业务。"))
