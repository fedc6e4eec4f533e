"""Places: access points by number."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.utils.translation import gettext as _

from refmeter.common import validators
from refmeter.common.bulk import lookup_batches
from refmeter.common.text import clean_digits
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope
from refmeter.registry.models import AccessPoint

# ---------------------------------------------------------------- places


def access_point_number_problem(number: str) -> str | None:
    return validators.access_point_number_problem(number)


def access_point_lookup(*, user: User, number: str) -> tuple[AccessPoint | None, str | None]:
    """The access point (with its area) of that number among the user's units, or why not."""
    number = clean_digits(number)
    problem = access_point_number_problem(number)
    if problem:
        return None, problem
    access_point = (
        AccessPoint.objects.filter(unit_scope(user=user, unit_field="area__unit"), number=number)
        .select_related("area")
        .first()
    )
    if access_point is None:
        return None, _("接入点 %(number)s 不存在或不属于您的单位。") % {"number": number}
    return access_point, None


class PlaceRef(NamedTuple):
    """An access point as a load of thousands of points needs it: no model instance."""

    pk: int
    number: str
    area_id: int
    area_number: str


def places_by_number(*, user: User, numbers: Iterable[str]) -> dict[str, PlaceRef]:
    """The access points of these numbers among the user's units, read as a set."""
    return {
        number: PlaceRef(pk, number, area_id, area_number)
        for batch in lookup_batches(numbers)
        for number, pk, area_id, area_number in AccessPoint.objects.filter(
            unit_scope(user=user, unit_field="area__unit"), number__any_of=batch
        ).values_list("number", "pk", "area_id", "area__number")
    }
