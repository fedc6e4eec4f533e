"""What the registry's reads share: the refusal of a record not visible, the active-on filter."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils.translation import gettext as _


class RecordNotVisible(Exception):
    """Absent, or outside the user's units; the two are not told apart on purpose."""


def _not_visible(what: str) -> RecordNotVisible:
    return RecordNotVisible(
        _("未找到该%(what)s，或它不属于您所在单位及下属单位。") % {"what": what}
    )


def active_on_filter(on_date: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}active_from_date__lte": on_date}) & (
        Q(**{f"{prefix}active_to_date__isnull": True})
        | Q(**{f"{prefix}active_to_date__gt": on_date})
    )
