"""The readings a back-billing stands on, and its normal (baseline) period.

The default normal period is the last full calendar months (at most three) before the
anomaly began with no day of any anomaly case of the meter; a normal period, chosen or
typed in, with missing daily readings, anomaly days or a non-positive energy is refused
with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase
from refmeter.billing.selectors.back_billing import AnomalySpan, anomaly_spans, reading_days
from refmeter.billing.services.base import UnableToBill
from refmeter.common.validators import FieldProblem
from refmeter.readings.models import MeterReading
from refmeter.registry.models import Group
from refmeter.registry.selectors import group_terms_pieces

BASELINE_MONTHS = 3


def reading_on(group: Group, day: dt.date) -> MeterReading:
    reading = MeterReading.objects.filter(group=group, reading_date=day).first()
    if reading is None:
        raise UnableToBill(_("缺少 %(day)s 的日冻结读数，无法计算。") % {"day": day.isoformat()})
    return reading


def register_difference(group: Group, start: dt.date, end: dt.date) -> Decimal:
    return reading_on(group, end).forward_total - reading_on(group, start).forward_total


def _scaled(
    group: Group, start: dt.date, end: dt.date, registers: dict[dt.date, Decimal]
) -> Decimal:
    """The register's advance over [start, end) x the CT ratio in force on each day."""
    return sum(
        (
            (registers[piece.end_date] - registers[piece.start_date]) * piece.ct_ratio
            for piece in group_terms_pieces(group=group, start=start, end=end)
        ),
        Decimal(0),
    )


def reference_energy(group: Group, start: dt.date, end: dt.date) -> Decimal:
    pieces = group_terms_pieces(group=group, start=start, end=end)
    days = {day for piece in pieces for day in (piece.start_date, piece.end_date)}
    return _scaled(group, start, end, {day: reading_on(group, day).forward_total for day in days})


def _month_before(first_day: dt.date) -> dt.date:
    return (first_day - dt.timedelta(days=1)).replace(day=1)


def _touches(span: AnomalySpan, start: dt.date, end: dt.date) -> bool:
    return span.first_day < end and (span.last_day is None or span.last_day >= start)


def _date_parameter(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise UnableToBill(_("正常期间的日期格式不正确，应为 YYYY-MM-DD。")) from error


def _default_baseline(group: Group, anchor: dt.date) -> tuple[dt.date, dt.date, list[dt.date]]:
    """The last full calendar months (up to three) before ``anchor`` with no day of any
    anomaly case of the meter; going back stops at the first month that has one."""
    end = anchor.replace(day=1)
    earliest = end
    for _month in range(BASELINE_MONTHS):
        earliest = _month_before(earliest)
    spans = anomaly_spans(group=group, start=earliest, end=end)
    months: list[dt.date] = []
    start = end
    for _month in range(BASELINE_MONTHS):
        month_start = _month_before(start)
        if month_start < group.meter_install_date:
            reason = _(
                "异常起始日 %(day)s 前的完整月份 %(month)s 早于装表日期 %(installed)s，"
                "无法自动选取正常期间；请填写正常期间，或改用其他计算方法。"
            )
        elif any(_touches(span, month_start, start) for span in spans):
            reason = _(
                "异常起始日 %(day)s 前的完整月份 %(month)s 含有异常天数，无法自动选取正常期间；"
                "请填写正常期间，或改用其他计算方法。"
            )
        else:
            months.insert(0, month_start)
            start = month_start
            continue
        if not months:
            raise UnableToBill(
                reason
                % {
                    "day": anchor.isoformat(),
                    "month": f"{month_start:%Y-%m}",
                    "installed": group.meter_install_date.isoformat(),
                }
            )
        break
    return start, end, months


def _check_baseline(group: Group, start: dt.date, end: dt.date) -> Decimal:
    """The reference energy of a normal period, refused with the reason if it cannot serve."""
    named = {"start": start.isoformat(), "end": end.isoformat()}
    spans = anomaly_spans(group=group, start=start, end=end)
    if spans:
        raise UnableToBill(
            _(
                "正常期间 %(start)s 至 %(end)s 含有异常天数（%(kind)s：%(since)s 起），不能作为基准。"
            )
            % {**named, "kind": spans[0].kind_label, "since": spans[0].first_day.isoformat()}
        )
    registers = reading_days(group=group, start=start, end=end)
    missing = [
        start + dt.timedelta(days=offset)
        for offset in range((end - start).days + 1)
        if start + dt.timedelta(days=offset) not in registers
    ]
    if missing:
        message = (
            _(
                "正常期间 %(start)s 至 %(end)s 缺少 %(count)d 天的日冻结读数（%(first)s 等），不能作为基准。"
            )
            if len(missing) > 1
            else _(
                "正常期间 %(start)s 至 %(end)s 缺少 %(count)d 天的日冻结读数（%(first)s），不能作为基准。"
            )
        )
        raise UnableToBill(
            message % {**named, "count": len(missing), "first": missing[0].isoformat()}
        )
    baseline = _scaled(group, start, end, registers)
    if baseline <= 0:
        raise UnableToBill(
            _(
                "正常期间 %(start)s 至 %(end)s 的参考表电量为 %(energy)s kWh（不大于零），不能作为基准。"
            )
            % {**named, "energy": baseline}
        )
    return baseline


def normal_period_steps(
    group: Group,
    case: AnomalyCase | None,
    period_start: dt.date,
    period_end: dt.date,
    parameters: dict[str, Any],
) -> tuple[Decimal, int, list[dict[str, str]]]:
    """The normal period's daily reference energy and the steps saying which days it used."""
    typed_start = parameters.get("baseline_start") or ""
    typed_end = parameters.get("baseline_end") or ""
    if typed_start and typed_end:
        start, end = _date_parameter(typed_start), _date_parameter(typed_end)
        if end <= start:
            raise UnableToBill(
                FieldProblem(_("正常期间的结束日期必须晚于开始日期。"), field="baseline_end")
            )
        if start < period_end and period_start < end:
            raise UnableToBill(
                FieldProblem(
                    _("正常期间 %(start)s 至 %(end)s 与退补期间重叠，不能作为基准。")
                    % {"start": start.isoformat(), "end": end.isoformat()},
                    field="baseline_start",
                )
            )
        chosen = {
            "step": _("正常期间（手工填写）"),
            "value": _("%(start)s — %(end)s（%(days)d 天）")
            % {"start": start, "end": end, "days": (end - start).days},
        }
        source = "typed"
    elif typed_start or typed_end:
        raise UnableToBill(
            FieldProblem(
                _("请同时填写正常期间的开始和结束日期，或都不填由系统自动选取。"),
                field="baseline_end" if typed_start else "baseline_start",
            )
        )
    else:
        anchor = min(case.condition_since, period_start) if case is not None else period_start
        start, end, months = _default_baseline(group, anchor)
        chosen = {
            "step": _("正常期间（自动选取：异常起始日 %(day)s 之前不含异常的完整月份）")
            % {"day": anchor},
            "value": _("%(start)s — %(end)s（%(days)d 天：%(months)s）")
            % {
                "start": start,
                "end": end,
                "days": (end - start).days,
                "months": "、".join(f"{month:%Y-%m}" for month in months),
            },
        }
        source = "default"
    baseline = _check_baseline(group, start, end)
    parameters.update(
        baseline_start=start.isoformat(), baseline_end=end.isoformat(), baseline_source=source
    )
    return baseline, (end - start).days, [chosen]
