"""``{% point_findings point_id %}``: a point's inspection findings, for the registry's point
page, which may not import this app (the registry is a lower layer)."""

from __future__ import annotations

from django import template

from refmeter.inspections.selectors import point_inspections

register = template.Library()


@register.inclusion_tag("inspections/findings.html")
def point_findings(point_id: int) -> dict[str, object]:
    return {"findings": point_inspections(point_id=point_id)}
