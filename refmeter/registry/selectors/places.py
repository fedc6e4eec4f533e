"""Places: access points by number."""

from __future__ import annotations

from django.utils.translation import gettext as _

from refmeter.common import validators
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
