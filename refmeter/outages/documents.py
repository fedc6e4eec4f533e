"""The outage notice letter (停电通知书): one per customer, naming the outage window and the
customer's affected points, from the same list as the outage page."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.pdf import Block, NewPage, PrintDocument, Signatures, Space, Table, Text
from refmeter.outages.models import Outage
from refmeter.outages.selectors import AffectedPoint


def _letter(outage: Outage, points: Sequence[AffectedPoint]) -> list[Block]:
    first = points[0]
    start = timezone.localtime(outage.starts_at)
    end = timezone.localtime(outage.ends_at)
    contact = " ".join(filter(None, [first.contact_name, first.contact_phone]))
    return [
        Text(
            _("致：%(customer)s") % {"customer": first.customer_name}
            + (_("（停电联系人：%(contact)s）") % {"contact": contact} if contact else "")
        ),
        Space(2),
        Text(
            _(
                "因%(reason)s，我公司定于 %(start)s 至 %(end)s 对相关线路停电（%(kind)s）。"
                "届时贵单位下列 %(count)d 个用电点将停止供电，请提前做好准备；"
                "停电期间请勿自行接电，恢复供电以实际送电为准。"
            )
            % {
                "reason": outage.reason,
                "start": f"{start:%Y-%m-%d %H:%M}",
                "end": f"{end:%Y-%m-%d %H:%M}",
                "kind": outage.get_kind_display(),
                "count": len(points),
            }
        ),
        Space(3),
        Table(
            header=[_("序号"), _("户号"), _("户名"), _("设备地址"), _("台区编号"), _("接入点编号")],
            rows=[
                [
                    index,
                    point.account_number,
                    point.name,
                    point.device_address,
                    point.area_number,
                    point.access_point_number,
                ]
                for index, point in enumerate(points, start=1)
            ],
            widths=[0.5, 1.2, 1.8, 3.2, 1.3, 1.9],
        ),
        Space(6),
        Signatures(labels=[_("供电单位（盖章）"), _("日期")], height_mm=20),
    ]


def outage_letters_document(
    *, outage: Outage, points: Sequence[AffectedPoint], customer_id: int | None = None
) -> PrintDocument:
    """A letter per customer (one customer if ``customer_id``), each starting a page."""
    chosen = sorted(
        (p for p in points if customer_id is None or p.customer_id == customer_id),
        key=lambda p: (p.customer_name, p.customer_id, p.account_number),
    )
    blocks: list[Block] = []
    for index, (_customer, letter_points) in enumerate(
        groupby(chosen, key=lambda p: (p.customer_name, p.customer_id))
    ):
        if index:
            blocks.append(NewPage())
        blocks += _letter(outage, list(letter_points))
    return PrintDocument(
        title=_("停电通知书"),
        subtitle=_("停电计划 %(id)d") % {"id": outage.pk},
        blocks=blocks or [Text(_("该停电计划没有受影响的用电点。"))],
        footer=_("停电通知书 停电计划 %(id)d") % {"id": outage.pk},
    )
