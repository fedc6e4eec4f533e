"""The inspection route sheet (检查路线单): the points of a plan still to inspect, grouped
by transformer area and access point, each with a QR code that opens the point's page."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from refmeter.common.pdf import QR, Block, Fields, Heading, PrintDocument, Table, Text
from refmeter.inspections.models import InspectionPlan
from refmeter.inspections.selectors import RouteStop


def point_url(point_id: int) -> str:
    """The point's page at the address phones reach (the labels' base address)."""
    base = str(settings.REFMETER_LABEL_BASE_URL).rstrip("/")
    return base + reverse("registry:point_detail", args=[point_id])


def route_sheet_document(
    *, plan: InspectionPlan, stops: Sequence[RouteStop], area_number: str = ""
) -> PrintDocument:
    blocks: list[Block] = [
        Fields(
            pairs=[
                (_("检查期"), f"{plan.period_start:%Y-%m-%d} — {plan.period_end:%Y-%m-%d}"),
                (_("供电单位"), plan.unit.name),
                (_("台区"), area_number or _("全部")),
                (_("待检查点位"), len(stops)),
                (_("检查人员"), ""),
                (_("检查日期"), ""),
            ]
        ),
        Text(
            _(
                "扫码打开点位页面，核对户号、标签与现场设备；登录后在标签扫码页记录检查结果。"
                "发现未登记的接电、封印缺失或标签不符，记录位置和数量。"
            )
        ),
    ]
    if not stops:
        blocks.append(Text(_("该计划在此范围内没有待检查的点位。")))
    for area, in_area in groupby(stops, key=lambda stop: stop.area):
        blocks.append(Heading(_("台区 %(area)s") % {"area": area or _("（未确定台区）")}))
        for access_point, at_point in groupby(in_area, key=lambda stop: stop.access_point):
            blocks.append(Text(_("接入点：%(point)s") % {"point": access_point or "—"}))
            blocks.append(
                Table(
                    header=[_("二维码"), _("户号"), _("户名"), _("设备地址"), _("客户"), _("检查结果")],
                    rows=[
                        [QR(point_url(stop.point_id), size_mm=20), stop.account_number, stop.name,
                         stop.address, stop.customer, _("□ 正常 □ 异常")]
                        for stop in at_point
                    ],
                    widths=[1.3, 1.2, 1.8, 2.6, 1.6, 1.6],
                )
            )  # fmt: skip
    return PrintDocument(
        title=_("周期检查路线单"),
        subtitle=_("检查计划 %(plan)d") % {"plan": plan.pk},
        blocks=blocks,
        footer=_("检查路线单 计划 %(plan)d") % {"plan": plan.pk},
    )
