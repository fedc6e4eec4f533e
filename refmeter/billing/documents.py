"""The bill notice (电费通知单): what a customer is asked to pay for a month and how the
figure came about, from the bill's own stored figures (the same the bill page shows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from refmeter.billing.models import Bill
from refmeter.common.pdf import (
    Block,
    Fields,
    Heading,
    NewPage,
    PrintDocument,
    Table,
    Text,
    document_pdf,
)

TOU_PARTS = (("sharp", "尖"), ("peak", "峰"), ("flat", "平"), ("valley", "谷"))


def _money(value: Decimal | str | None) -> str:
    return f"{Decimal(value or 0):,.2f} " + _("元")


def _energy(value: Decimal | str | None) -> str:
    return f"{Decimal(value or 0):,.2f} kWh"


def _segment_energy(segment: dict[str, Any]) -> str:
    registers = segment.get("registers") or {}
    if not registers:
        return str(segment.get("billed_energy", ""))
    split = " · ".join(f"{_(word)} {registers.get(key, '')}" for key, word in TOU_PARTS)
    return f"{segment.get('billed_energy', '')}（{split}）"


def _segment_price(segment: dict[str, Any]) -> str:
    prices = segment.get("prices") or {}
    if "price" in prices:
        return str(prices["price"])
    return " · ".join(f"{_(word)} {prices.get(key, '')}" for key, word in TOU_PARTS)


def _subtitle(bill: Bill) -> str:
    return _("账单号 %(number)s · 账期 %(period)s · 第 %(revision)d 版") % {
        "number": bill.number,
        "period": f"{bill.run.period_start:%Y-%m}",
        "revision": bill.revision,
    }


def bill_notice_blocks(bill: Bill, adjustments: Sequence[Any]) -> list[Block]:
    last_day = bill.period_end - dt.timedelta(days=1)
    blocks: list[Block] = []
    if bill.status == "withdrawn":
        blocks.append(Text(_("本账单已撤销（重算后该群组未出账），不作收费依据。")))
    blocks += [
        Fields(
            pairs=[
                (_("户名"), bill.customer_name),
                (_("基准户号"), bill.base_account_number),
                (_("供电单位"), bill.run.unit.name),
                (_("电价代码"), bill.tariff_code),
                (_("计费期间"), f"{bill.period_start:%Y-%m-%d} — {last_day:%Y-%m-%d}"),
                (_("账单类型"), bill.get_kind_display()),
                (_("起度 / 止度"), f"{bill.reading_start} / {bill.reading_end}"),
                (_("互感器倍率"), bill.ct_ratio),
                (_("参考表电量"), _energy(bill.reference_energy)),
                (_("天数 / 点·天"), f"{bill.days} / {bill.point_days}"),
                (_("结算电量"), _energy(bill.billed_energy)),
                (_("电度电费"), _money(bill.energy_amount)),
                (_("退补金额"), _money(bill.adjustment_amount)),
                (_("应收电费"), _money(bill.total_amount)),
            ]
        ),
        Heading(_("综合倍率")),
        Table(
            header=[_("起始日期"), _("截止日期（不含）"), _("综合倍率")],
            rows=[
                [span.get("from", ""), span.get("to") or "—", span.get("multiplier", "")]
                for span in bill.multiplier_spans
            ],
            numeric=[2],
        ),
        Heading(_("计费明细")),
        Table(
            header=[
                _("期间"),
                _("起度 / 止度"),
                _("互感器倍率"),
                _("参考表电量"),
                _("点·天"),
                _("结算电量（分时）"),
                _("电价"),
                _("电费"),
            ],
            rows=[
                [
                    f"{segment.get('from', '')} — {segment.get('to', '')}",
                    f"{segment.get('reading_start', '')} / {segment.get('reading_end', '')}",
                    segment.get("ct_ratio") or bill.ct_ratio,
                    segment.get("reference_energy", ""),
                    segment.get("point_days", ""),
                    _segment_energy(segment),
                    _segment_price(segment),
                    segment.get("amount", ""),
                ]
                for segment in bill.segments
            ],
            widths=[2.2, 2, 1, 1.3, 0.9, 3, 2.2, 1.2],
            numeric=[2, 3, 4, 7],
        ),
    ]
    if adjustments:
        blocks += [
            Heading(_("本期入账的退补")),
            Table(
                header=[_("说明"), _("电量"), _("金额")],
                rows=[[item.description, item.energy, item.amount] for item in adjustments],
                widths=[4, 1, 1],
                numeric=[1, 2],
            ),
        ]
    blocks.append(
        Text(
            _(
                "综合倍率 = 1 + 当日在用的虚拟子户数；结算电量 = 参考表电量 × 互感器倍率 × 点·天 ÷ 天数。"
                "分时电量中尖、峰、谷取各自示数，平为总电量减去三者之和。"
            )
        )
    )
    return blocks


def bill_notice_pdf(bill: Bill) -> bytes:
    return document_pdf(
        PrintDocument(
            title=_("电费通知单"),
            subtitle=_subtitle(bill),
            blocks=bill_notice_blocks(bill, list(bill.adjustments.all())),
            footer=f"{_('电费通知单')} {bill.number}",
        )
    )


def bill_notices_pdf(bills: Iterable[Bill], *, title: str) -> bytes:
    """Every bill's notice in one file, one bill to a page (or more), for printing a month."""
    blocks: list[Block] = []
    first = ""
    for index, bill in enumerate(bills):
        if index:
            blocks.append(NewPage(title=_("电费通知单"), subtitle=_subtitle(bill)))
        else:
            first = _subtitle(bill)
        blocks += bill_notice_blocks(bill, list(bill.adjustments.all()))
    return document_pdf(
        PrintDocument(
            title=_("电费通知单"),
            subtitle=first,
            blocks=blocks or [Text(_("本账期没有账单。"))],
            footer=title,
        )
    )
