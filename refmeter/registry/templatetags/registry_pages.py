"""Filters of the registry pages that render long lists (a group page shows fifty points
and fifty lines of history): each gives exactly what the template code it replaces gave,
at a fraction of the cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from refmeter.registry.selectors import PointRow

register = template.Library()


def _text(value: Any) -> str:
    # What {{ value }} shows of a name or a value read from the audit's JSON (never a
    # datetime): localized, then escaped unless already safe HTML.
    value = localize(value)
    return str(value.__html__()) if hasattr(value, "__html__") else escape(str(value))


@register.filter
def audit_changes(changes: Iterable[tuple[str, Any, Any]]) -> SafeString:
    """One ``<div>`` per change, ``field： before → after`` (an empty side as "—"): what
    ``{% for field, before, after in changes %}`` with three variables would render, in
    one pass. A group page shows fifty lines of its history, some with a dozen changes."""
    return mark_safe(  # every part is escaped by _text
        "".join(
            f'<div><span class="field">{_text(field)}</span>： '
            f"{_text(before or '—')} → {_text(after or '—')}</div>"
            for field, before, after in changes
        )
    )


@register.filter
def iso_date(value: Any) -> str:
    """``{{ value|date:"Y-m-d" }}`` of a date ("" for none), without the date formatter."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return str(date_filter(value, "Y-m-d"))


@register.filter
def point_rows(points: Iterable[PointRow]) -> SafeString:
    """The rows of a group page's point list (fifty to a page), one ``<tr>`` each with a
    link to the point: what a ``{% for %}`` of a dozen variables a row rendered."""
    return mark_safe(  # every part is escaped by _text
        "".join(
            f'<tr><td><a href="{_text(reverse("registry:point_detail", args=[point.point_id]))}">'
            f"{_text(point.account_number)}</a></td>"
            f"<td>{_text(point.name)}</td><td>{_text(point.device_address)}</td>"
            f"<td>{_text(point.nearby_number)}</td>"
            f"<td>{_text(point.access_point_number)}<br>"
            f"<small>{_text(point.access_point_name)}</small></td>"
            f"<td>{_text(point.area_number)}<br><small>{_text(point.area_name)}</small></td>"
            f"<td>{_text(point.kind_label)}</td><td>{_text(point.status_label)}</td>"
            f"<td>{_text(iso_date(point.active_from_date))}</td>"
            f"<td>{_text(iso_date(point.active_to_date))}</td></tr>\n"
            for point in points
        )
    )
