"""The acceptance checks of a connection application list (attachment 4), in one place.

The work-order import and ``refmeter check-list`` both call ``application_list_check``,
so a list gets the same problems, in the same words, wherever it is checked. Nothing
here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.registry.models import (
    AccessPoint,
    Group,
    GroupStatus,
    NearbyNumber,
    Point,
    PointKind,
    PointStatus,
)
from refmeter.spreadsheets.application_list import ApplicationLine, ApplicationList, CellProblem


@dataclass(frozen=True)
class LineResolution:
    """Where a line of the list connects, or why that could not be found.

    An added point resolves through the nearby-number index; a cancelled one to the
    sub-account it cancels (``account_number``) and that point's place.
    """

    line: ApplicationLine
    account_number: str = ""
    access_point_number: str = ""
    access_point_name: str = ""
    area_number: str = ""
    area_name: str = ""
    unresolved: str = ""


@dataclass
class ApplicationListCheck:
    parsed: ApplicationList
    group: Group | None
    problems: list[CellProblem] = field(default_factory=list)
    resolutions: list[LineResolution] = field(default_factory=list)
    cancel_targets: dict[int, Point] = field(default_factory=dict)  # by row number
    adding: int = 0
    cancelling: int = 0
    active_sub_accounts: int = 0
    sub_accounts_after: int = 0


def application_list_group(*, parsed: ApplicationList, user: User | None) -> Group | None:
    """The running group whose base account the list's header names, among the user's
    units (all units without a user); None for a new install."""
    if not parsed.base_account_number:
        return None
    points = Point.objects.filter(
        kind=PointKind.BASE,
        account_number=parsed.base_account_number,
        group__status=GroupStatus.RUNNING,
    ).exclude(status=PointStatus.CANCELLED)
    if user is not None:
        points = points.filter(unit_scope(user=user, unit_field="group__unit"))
    point = points.select_related("group").first()
    return point.group if point else None


def application_list_check(
    *, parsed: ApplicationList, group: Group | None, user: User | None
) -> ApplicationListCheck:
    """Every problem of the list against the nearby-number index and the group.

    ``group`` is the group the list changes; None means a new install (its first
    point becomes the base account, and nothing can be cancelled). Problems, in order:
    the empty or unreadable cells, then row by row a repeated point (same name and
    position), a point already in the group, a nearby number not in the index, a
    cancellation of a point that is not an active sub-account of the group (or any
    cancellation in a new install), a point cancelled twice; last the sub-account limit.
    ``user`` limits which access points resolve (all units without one).
    """
    check = ApplicationListCheck(parsed=parsed, group=group)
    group_points: list[Point] = []
    if group is not None:
        group_points = list(
            Point.objects.filter(group_id=group.pk)
            .exclude(status=PointStatus.CANCELLED)
            .select_related("access_point", "area")
        )
    index = {
        entry.number: entry.access_point
        for entry in NearbyNumber.objects.filter(
            number__in=[line.nearby_number for line in parsed.lines]
        ).select_related("access_point__area__unit")
    }
    by_name: dict[str, list[Point]] = {}
    for point in group_points:
        by_name.setdefault(point.name, []).append(point)
    by_number = {point.account_number: point for point in group_points}
    line_problems: list[CellProblem] = []

    def problem(line: ApplicationLine, key: str, message: str) -> str:
        line_problems.append(parsed.cell_problem(line.row_number, key, message))
        return message

    seen: dict[tuple[str, str], int] = {}
    for line in parsed.lines:
        key = (line.name, line.position)
        if key in seen:
            repeated = problem(
                line,
                "name",
                _("与第 %(row)d 行是同一个点位（名称和接电位置相同）。") % {"row": seen[key]},
            )
            check.resolutions.append(
                _resolve_added(line, index=index, user=user)
                if line.action == "add"
                else LineResolution(line=line, unresolved=repeated)
            )
            continue
        seen[key] = line.row_number
        if line.action == "add":
            if line.nearby_number not in index:
                problem(
                    line,
                    "nearby",
                    _("就近户号/局号 %(number)s 在营销系统索引中不存在。")
                    % {"number": line.nearby_number},
                )
            duplicates = [
                point
                for point in by_name.get(line.name, [])
                if point.device_address == line.position
            ]
            if duplicates:
                problem(
                    line,
                    "name",
                    _("该点位已在群组中（户号 %(number)s）。")
                    % {"number": duplicates[0].account_number},
                )
            check.resolutions.append(_resolve_added(line, index=index, user=user))
            continue
        if group is None:
            refusal = problem(line, "remark", _("新装工单不能取消点位。"))
            check.resolutions.append(LineResolution(line=line, unresolved=refusal))
            continue
        target = by_number.get(line.nearby_number)
        if target is None:
            candidates = [p for p in by_name.get(line.name, []) if p.kind == PointKind.SUB]
            target = candidates[0] if len(candidates) == 1 else None
        if target is None or target.kind != PointKind.SUB:
            refusal = problem(
                line,
                "name",
                _("要取消的点位“%(name)s”不在本群组的在用虚拟子户中。") % {"name": line.name},
            )
            check.resolutions.append(LineResolution(line=line, unresolved=refusal))
        elif target.pk in {other.pk for other in check.cancel_targets.values()}:
            refusal = problem(line, "name", _("同一个点位被取消了两次。"))
            check.resolutions.append(_resolve_cancelled(line, target=target, refusal=refusal))
        else:
            check.cancel_targets[line.row_number] = target
            check.resolutions.append(_resolve_cancelled(line, target=target, refusal=""))
    check.problems = [*parsed.problems, *line_problems]
    check.adding = len(
        {(line.name, line.position) for line in parsed.lines if line.action == "add"}
    )
    check.cancelling = len(check.cancel_targets)
    check.active_sub_accounts = sum(
        1
        for point in group_points
        if point.kind == PointKind.SUB and point.status == PointStatus.ACTIVE
    )
    check.sub_accounts_after = (
        check.active_sub_accounts + check.adding - check.cancelling - (0 if group else 1)
    )
    limit = settings.REFMETER_MAX_ACTIVE_SUB_ACCOUNTS
    if check.sub_accounts_after > limit:
        check.problems.append(
            CellProblem(
                0,
                "",
                "",
                _(
                    "办理后群组将有 %(count)d 个在用虚拟子户，超过上限 %(limit)d 个；"
                    "超出部分请申请新的参考表（新群组）。"
                )
                % {"count": check.sub_accounts_after, "limit": limit},
            )
        )
    return check


def _resolve_added(
    line: ApplicationLine, *, index: dict[str, AccessPoint], user: User | None
) -> LineResolution:
    access_point = index.get(line.nearby_number)
    if access_point is None:
        return LineResolution(
            line=line,
            unresolved=_("就近户号/局号 %(number)s 在营销系统索引中不存在。")
            % {"number": line.nearby_number},
        )
    if user is not None and not unit_is_visible(user=user, unit=access_point.area.unit):
        return LineResolution(
            line=line,
            unresolved=_("接入点 %(number)s 不存在或不属于您的单位。")
            % {"number": access_point.number},
        )
    return LineResolution(
        line=line,
        access_point_number=access_point.number,
        access_point_name=access_point.name,
        area_number=access_point.area.number,
        area_name=access_point.area.name,
    )


def _resolve_cancelled(line: ApplicationLine, *, target: Point, refusal: str) -> LineResolution:
    place, area = target.access_point, target.area
    return LineResolution(
        line=line,
        account_number=target.account_number,
        access_point_number=place.number if place else "",
        access_point_name=place.name if place else "",
        area_number=area.number if area else "",
        area_name=area.name if area else "",
        unresolved=refusal,
    )
