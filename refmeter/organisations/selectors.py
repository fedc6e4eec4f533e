from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from refmeter.organisations.models import SupplyUnit, User
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
    if user.unit_id is None:
        return user.is_superuser
    assert user.unit is not None
    return unit.path.startswith(user.unit.path)
