from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from refmeter.inspections.models import InspectionResult


@dataclass(frozen=True)
class InspectionLine:
    recorded_at: dt.datetime
    finding: str
    finding_label: str
    note: str
    recorded_by: str


def point_inspections(*, point_id: int, limit: int = 20) -> list[InspectionLine]:
    return [
        InspectionLine(
            recorded_at=result.recorded_at,
            finding=result.finding,
            finding_label=result.get_finding_display(),
            note=result.note,
            recorded_by=result.recorded_by.get_full_name() or result.recorded_by.get_username(),
        )
        for result in InspectionResult.objects.filter(point_id=point_id).select_related(
            "recorded_by"
        )[:limit]
    ]
