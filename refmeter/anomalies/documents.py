"""The contact sheet (联系单) an anomaly case sends to the inspectors: the meter, what was
seen, its last 30 days as a small chart, and room for the finding and signatures."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.anomalies.models import AnomalyCase, Cause, ContactSheet
from refmeter.anomalies.selectors import CaseRow
from refmeter.common.pdf import (
    Block,
    Chart,
    Fields,
    Heading,
    PrintDocument,
    Signatures,
    Space,
    Text,
)
from refmeter.readings.selectors import meter_series

CHART_DAYS = 30


def _name(user: object) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())  # type: ignore[attr-defined]


def contact_sheet_document(
    *, case: AnomalyCase, row: CaseRow, sheet: ContactSheet
) -> PrintDocument:
    # The 30 days up to the last day the condition was seen (or today if it still is).
    end = min(case.last_seen_on, timezone.localdate()) + dt.timedelta(days=1)
    series = meter_series(
        group_id=case.group_id, start=end - dt.timedelta(days=CHART_DAYS), end=end
    )
    answered = sheet.answered_at is not None
    blocks: list[Block] = [
        Fields(
            pairs=[
                (_("联系单号"), sheet.number),
                (_("发出时间"), f"{timezone.localtime(sheet.sent_at):%Y-%m-%d %H:%M}"),
                (_("发出人"), _name(sheet.sent_by)),
                (_("供电单位"), sheet.unit.name),
                (_("客户"), row.customer_name),
                (_("基准户号"), row.base_account_number),
                (_("电能表资产编号"), row.meter_asset_number),
                (_("异常类型"), row.kind_label),
                (_("异常起始日"), row.condition_since),
                (_("报出日期"), row.raised_on),
            ]
        ),
        Heading(_("核查要求")),
        Text(sheet.request or _("请到现场核查参考表运行情况和接线，并填写核查结论。")),
        Space(3),
        Chart(
            title=_("参考表最近 %(days)d 天日电量") % {"days": CHART_DAYS},
            labels=[f"{point.day:%m-%d}" for point in series],
            values=[point.daily_energy for point in series],
            unit="kWh",
        ),
        Heading(_("现场核查")),
    ]
    if answered:
        blocks.append(
            Fields(
                pairs=[
                    (_("现场核查结论"), sheet.get_finding_display()),
                    (_("核查日期"), sheet.found_on),
                    (_("核查说明"), sheet.finding_note),
                    (_("回复人"), _name(sheet.answered_by)),
                ]
            )
        )
    else:
        blocks += [
            Text(_("核查结论：") + "  ".join(f"□ {label}" for _value, label in Cause.choices)),
            Space(2),
            Text(_("核查说明：")),
            Space(22),
        ]
    blocks += [Space(4), Signatures(labels=[_("检查人员签字"), _("客户签字"), _("核查日期")])]
    return PrintDocument(
        title=_("计量异常联系单"),
        subtitle=_("联系单号 %(number)s") % {"number": sheet.number},
        blocks=blocks,
        footer=f"{_('联系单')} {sheet.number}",
    )
