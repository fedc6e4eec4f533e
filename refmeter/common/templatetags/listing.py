"""Sortable column headers and the pager of a :class:`refmeter.common.listing.Listing`."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from refmeter.common.listing import Listing

register = template.Library()


@register.simple_tag
def sort_header(listing: Listing, key: str, label: str) -> SafeString:
    """A header link that sorts by ``key``, ascending first, the other way when already so."""
    prefix = listing.prefix
    current = listing.sort
    target = f"-{key}" if current == key else key
    mark = ""
    state = "none"
    if current.lstrip("-") == key:
        state = "descending" if current.startswith("-") else "ascending"
        mark = " ▼" if current.startswith("-") else " ▲"
    separator = "&" if listing.filter_query else ""
    return format_html(
        '<a class="sort" href="?{}{}{}sort={}" data-sort="{}" title="{}">{}{}</a>',
        listing.filter_query,
        separator,
        prefix,
        target,
        state,
        _("点击排序"),
        label,
        mark,
    )
