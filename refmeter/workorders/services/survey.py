"""The survey: its result and where each line's point is placed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_is_visible
from refmeter.registry.models import NearbyNumber
from refmeter.registry.selectors import access_point_lookup
from refmeter.registry.services import account_numbers_issue
from refmeter.workorders.models import EventKind, LineAction, Step, WorkOrderLine
from refmeter.workorders.services.base import UnableToProgressOrder, _event, _locked_order

# ---------------------------------------------------------------- survey


@dataclass(frozen=True)
class SurveyResult:
    numbers_issued: int
    resolved: int
    unresolved: list[str]


def order_survey_resolve(
    *, actor: User, order_id: int, now: dt.datetime, expected_version: int | None = None
) -> SurveyResult:
    """Issue account numbers to the new points and find their access points and areas
    from their nearby numbers; what cannot be found is left for correction by hand."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.SURVEY, expected_version=expected_version
        )
        adds = list(order.lines.filter(action=LineAction.ADD).order_by("line_number"))
        without_number = [line for line in adds if not line.account_number]
        numbers = account_numbers_issue(unit=order.unit, count=len(without_number))
        for line, number in zip(without_number, numbers, strict=True):
            line.account_number = number
        index = {
            entry.number: entry.access_point
            for entry in NearbyNumber.objects.filter(
                number__in=[line.nearby_number for line in adds]
            ).select_related("access_point__area")
        }
        resolved = 0
        unresolved = []
        for line in adds:
            if line.place_source == "manual":
                continue
            access_point = index.get(line.nearby_number)
            if access_point is not None and unit_is_visible(
                user=actor, unit=access_point.area.unit
            ):
                line.access_point = access_point
                line.area = access_point.area
                line.place_source = "auto"
                resolved += 1
            else:
                line.access_point = None
                line.area = None
                line.place_source = ""
                unresolved.append(line.name)
        WorkOrderLine.objects.bulk_update(
            adds, ["account_number", "access_point", "area", "place_source"]
        )
        _event(
            order,
            actor=actor,
            kind=EventKind.NOTE,
            now=now,
            note=_(
                "生成户号 %(numbers)d 个，自动解析接入点 %(resolved)d 个，待人工确认 %(left)d 个。"
            )
            % {"numbers": len(numbers), "resolved": resolved, "left": len(unresolved)},
        )
    return SurveyResult(numbers_issued=len(numbers), resolved=resolved, unresolved=unresolved)


def order_line_place_set(
    *,
    actor: User,
    order_id: int,
    line_id: int,
    access_point_number: str,
    now: dt.datetime,
    expected_version: int | None = None,
) -> WorkOrderLine:
    """The surveyor corrects a point's access point (and so its area) by hand."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.SURVEY, expected_version=expected_version
        )
        line = order.lines.filter(pk=line_id).exclude(action=LineAction.CANCEL).first()
        if line is None:
            raise UnableToProgressOrder(_("工单中没有这个点位。"))
        access_point, problem = access_point_lookup(user=actor, number=access_point_number)
        if problem:
            raise UnableToProgressOrder(problem)
        assert access_point is not None
        before = line.access_point.number if line.access_point else ""
        line.access_point = access_point
        line.area = access_point.area
        line.place_source = "manual"
        line.save(update_fields=["access_point", "area", "place_source"])
        _event(
            order,
            actor=actor,
            kind=EventKind.NOTE,
            now=now,
            note=_("人工确认接入点：%(name)s → %(point)s")
            % {"name": line.name, "point": access_point.number},
            changes=[(f"line.{line.line_number}.access_point", before, access_point.number)],
        )
    return line
