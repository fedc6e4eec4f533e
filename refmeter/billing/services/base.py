"""What every billing service shares: rounding, the refusal, the role check."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from refmeter.organisations.models import Role, SupplyUnit, User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import unit_is_visible

CENT = Decimal("0.01")
REGISTERS = ("sharp", "peak", "flat", "valley")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def energy(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class UnableToBill(Exception):
    pass


def require_billing(user: User | None) -> None:
    if user is None:
        return
    if not (user.is_superuser or user.role in (Role.BILLING, Role.ADMINISTRATOR)):
        raise ActionNotAllowed(_("只有电费人员可以执行此操作。"))


def may_bill(user: User) -> bool:
    """Whether to offer billing actions to this user (the services check again)."""
    try:
        require_billing(user)
    except ActionNotAllowed:
        return False
    return True


def require_billing_for_unit(user: User | None, unit: SupplyUnit) -> None:
    """Billing staff act only for their own unit and the units under it."""
    require_billing(user)
    if user is not None and not unit_is_visible(user=user, unit=unit):
        raise ActionNotAllowed(_("您只能为本单位及下属单位办理电费业务。"))
