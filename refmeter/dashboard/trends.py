"""Twelve months of trend for the managers' dashboard, each series one set-based query.

Months are calendar months ending with the current one (to date). Everything is scoped to
the units the user sees, or to one chosen unit below them (a company-level manager picks a
service area).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase
from refmeter.common.periods import Period
from refmeter.inspections.models import InspectionResult, InspectionTarget
from refmeter.lineloss.models import AreaEnergy
from refmeter.lineloss.selectors import CLASS_LABELS, lineloss_report
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import units_visible_to
from refmeter.registry.models import Point
from refmeter.workorders.models import Step, WorkOrder

MONTHS = 12
TOP_CUSTOMERS = 8  # the rest are summed as 其他


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]


@dataclass(frozen=True)
class Trend:
    key: str
    title: str
    series: list[Series]
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class Trends:
    months: list[str]  # "2026-01"…
    unit: SupplyUnit | None
    trends: list[Trend] = field(default_factory=list)


def trend_months(today: dt.date) -> list[Period]:
    """The twelve calendar months ending with today's (the last one runs to today)."""
    first = today.replace(day=1)
    starts = []
    for back in range(MONTHS - 1, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        starts.append(dt.date(year, month + 1, 1))
    return [Period.month(start.year, start.month) for start in starts]


def _scope(unit: SupplyUnit, field_name: str) -> Q:
    return Q(**{f"{field_name}__path__startswith": unit.path})


def _last_day(period: Period, today: dt.date) -> dt.date:
    return min(period.end_date - dt.timedelta(days=1), today)


def active_points_by_customer(*, unit: SupplyUnit, months: list[Period], today: dt.date) -> Trend:
    ends = [_last_day(month, today) for month in months]
    counts = {
        f"m{index}": Count(
            "id",
            filter=Q(active_from_date__lte=end)
            & (Q(active_to_date__isnull=True) | Q(active_to_date__gt=end)),
        )
        for index, end in enumerate(ends)
    }
    rows = list(
        Point.objects.filter(_scope(unit, "group__unit"))
        .values("group__customer__name")
        .annotate(**counts)
        .order_by("group__customer__name")
    )
    rows.sort(key=lambda row: -row[f"m{len(ends) - 1}"])
    series = [
        Series(row["group__customer__name"], [float(row[f"m{i}"]) for i in range(len(ends))])
        for row in rows[:TOP_CUSTOMERS]
    ]
    if len(rows) > TOP_CUSTOMERS:
        series.append(
            Series(
                _("其他"),
                [
                    float(sum(row[f"m{i}"] for row in rows[TOP_CUSTOMERS:]))
                    for i in range(len(ends))
                ],
            )
        )
    return Trend("points", _("在用点位（按客户，月末）"), series, unit=_("个"))


def points_added_and_cancelled(*, unit: SupplyUnit, months: list[Period]) -> Trend:
    def within(name: str, month: Period) -> Q:
        return Q(**{f"{name}__gte": month.start_date, f"{name}__lt": month.end_date})

    figures = Point.objects.filter(_scope(unit, "group__unit")).aggregate(
        **{f"added{i}": Count("id", filter=within("active_from_date", m)) for i, m in enumerate(months)},
        **{f"gone{i}": Count("id", filter=within("active_to_date", m)) for i, m in enumerate(months)},
    )  # fmt: skip
    return Trend(
        "moves",
        _("每月新增与撤销的点位"),
        [
            Series(_("新增"), [float(figures[f"added{i}"]) for i in range(len(months))]),
            Series(_("撤销"), [float(figures[f"gone{i}"]) for i in range(len(months))]),
        ],
        unit=_("个"),
    )


def anomaly_cases(*, unit: SupplyUnit, months: list[Period], today: dt.date) -> Trend:
    """Cases raised and closed each month, and the median age of the cases open at each
    month's end (one query for the cases that touch the twelve months)."""
    first = months[0].start_date
    cases = list(
        AnomalyCase.objects.filter(_scope(unit, "group__unit"))
        .filter(Q(closed_at__isnull=True) | Q(closed_at__date__gte=first))
        .values_list("raised_on", "closed_at")
    )
    raised: list[float | None] = []
    closed: list[float | None] = []
    median: list[float | None] = []
    for month in months:
        end = _last_day(month, today)
        raised.append(float(sum(1 for on, _c in cases if month.start_date <= on < month.end_date)))
        closed_dates = [timezone.localdate(c) for _on, c in cases if c is not None]
        closed.append(
            float(sum(1 for day in closed_dates if month.start_date <= day < month.end_date))
        )
        ages = [
            (end - on).days
            for on, closed_at in cases
            if on <= end and (closed_at is None or timezone.localdate(closed_at) > end)
        ]
        median.append(float(statistics.median(ages)) if ages else None)
    return Trend(
        "cases",
        _("计量异常：每月报出与办结，月末在办异常的天数中位数"),
        [
            Series(_("报出"), raised),
            Series(_("办结"), closed),
            Series(_("在办天数中位数"), median),
        ],
    )


def lineloss_classes(*, unit: SupplyUnit, months: list[Period]) -> Trend:
    """Areas by line-loss class before and after the virtual energy, for each month whose
    supply figures were loaded (a month without them has no class to show)."""
    loaded = set(
        AreaEnergy.objects.filter(
            _scope(unit, "area__unit"), period_start__gte=months[0].start_date
        ).values_list("period_start", flat=True)
    )
    keys = ("qualified", "high", "negative")
    before: dict[str, list[float | None]] = {key: [] for key in keys}
    after: dict[str, list[float | None]] = {key: [] for key in keys}
    for month in months:
        if month.start_date not in loaded:
            for key in keys:
                before[key].append(None)
                after[key].append(None)
            continue
        report = lineloss_report(period=month, unit_filter=_scope(unit, "unit"))
        for key in keys:
            before[key].append(float(sum(1 for row in report if row.class_before == key)))
            after[key].append(float(sum(1 for row in report if row.class_after == key)))
    return Trend(
        "lineloss",
        _("台区线损分类：计入虚拟电量前后"),
        [
            Series(_("%(class)s（计入前）") % {"class": CLASS_LABELS[key]}, before[key])
            for key in keys
        ]
        + [
            Series(_("%(class)s（计入后）") % {"class": CLASS_LABELS[key]}, after[key])
            for key in keys
        ],
        unit=_("个台区"),
        note=_("高损：线损率超过 %(percent)s%%") % {"percent": settings.REFMETER_HIGH_LOSS_PERCENT},
    )


def inspections_against_plan(*, unit: SupplyUnit, months: list[Period], today: dt.date) -> Trend:
    """Inspections recorded each month, and how many the plans in force that month call
    for per month (a plan's points spread over its months)."""
    done = InspectionResult.objects.filter(_scope(unit, "point__group__unit")).aggregate(
        **{
            f"m{i}": Count(
                "id",
                filter=Q(recorded_at__date__gte=m.start_date, recorded_at__date__lt=m.end_date),
            )
            for i, m in enumerate(months)
        }
    )
    plans = list(
        InspectionTarget.objects.filter(_scope(unit, "plan__unit"))
        .filter(plan__period_end__gt=months[0].start_date)
        .values("plan__period_start", "plan__period_end")
        .annotate(targets=Count("id"))
    )
    planned: list[float | None] = []
    for month in months:
        share = Decimal(0)
        for plan in plans:
            start, end = plan["plan__period_start"], plan["plan__period_end"]
            if start < month.end_date and end > month.start_date:
                length = max(1, (end.year - start.year) * 12 + end.month - start.month)
                share += Decimal(plan["targets"]) / length
        planned.append(float(round(share, 1)))
    return Trend(
        "inspections",
        _("周期检查：每月完成与计划"),
        [
            Series(_("完成"), [float(done[f"m{i}"]) for i in range(len(months))]),
            Series(_("计划（按月均摊）"), planned),
        ],
        unit=_("个点位"),
    )


def archives_on_time(*, unit: SupplyUnit, months: list[Period]) -> Trend:
    def archived(month: Period) -> Q:
        return Q(
            step=Step.DONE,
            completed_at__date__gte=month.start_date,
            completed_at__date__lt=month.end_date,
        )

    late = Q(archive_due_date__isnull=False, completed_at__date__gt=F("archive_due_date"))
    figures = WorkOrder.objects.filter(_scope(unit, "unit")).aggregate(
        **{f"on{i}": Count("id", filter=archived(m) & ~late) for i, m in enumerate(months)},
        **{f"late{i}": Count("id", filter=archived(m) & late) for i, m in enumerate(months)},
    )
    return Trend(
        "archives",
        _("工单归档：按期与超期"),
        [
            Series(_("按期"), [float(figures[f"on{i}"]) for i in range(len(months))]),
            Series(_("超期"), [float(figures[f"late{i}"]) for i in range(len(months))]),
        ],
        unit=_("单"),
    )


def dashboard_trends(*, user: User, today: dt.date, unit_id: int | None = None) -> Trends:
    require(user=user, action=Action.VIEW_STATISTICS)
    visible = units_visible_to(user=user)
    unit = (visible.filter(pk=unit_id).first() if unit_id else None) or (
        user.unit if user.unit_id else visible.order_by("path").first()
    )
    months = trend_months(today)
    labels = [f"{month.start_date:%Y-%m}" for month in months]
    if unit is None:
        return Trends(months=labels, unit=None)
    return Trends(
        months=labels,
        unit=unit,
        trends=[
            active_points_by_customer(unit=unit, months=months, today=today),
            points_added_and_cancelled(unit=unit, months=months),
            anomaly_cases(unit=unit, months=months, today=today),
            lineloss_classes(unit=unit, months=months),
            inspections_against_plan(unit=unit, months=months, today=today),
            archives_on_time(unit=unit, months=months),
        ],
    )
