"""Tariffs: the price of a code from a date, and where it changes within a stretch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _

from refmeter.billing.models import Tariff, TariffKind
from refmeter.billing.services.base import REGISTERS, UnableToBill


def tariff_create(
    *,
    code: str,
    name: str,
    effective_from: dt.date,
    price: Decimal | None = None,
    time_of_use: dict[str, Decimal] | None = None,
) -> Tariff:
    if (price is None) == (time_of_use is None):
        raise UnableToBill(_("请填写单一电价，或四个分时电价。"))
    if price is not None and price <= 0:
        raise UnableToBill(_("电价必须大于 0。"))
    if time_of_use is not None and (
        set(time_of_use) != set(REGISTERS) or min(time_of_use.values()) <= 0
    ):
        raise UnableToBill(_("分时电价须有尖、峰、平、谷四个大于 0 的价格。"))
    return Tariff.objects.create(
        code=code,
        name=name,
        kind=TariffKind.SINGLE if price is not None else TariffKind.TIME_OF_USE,
        effective_from=effective_from,
        price=price,
        **{f"{key}_price": value for key, value in (time_of_use or {}).items()},
    )


def tariff_segments(
    tariffs: list[Tariff], start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date, Tariff]] | None:
    """Split [start, end) where the tariff changes; None when a day has no tariff."""
    ordered = sorted(tariffs, key=lambda tariff: tariff.effective_from)
    segments = []
    for index, tariff in enumerate(ordered):
        until = ordered[index + 1].effective_from if index + 1 < len(ordered) else None
        a = max(start, tariff.effective_from)
        b = end if until is None else min(end, until)
        if a < b:
            segments.append((a, b, tariff))
    covered = sum((b - a).days for a, b, _tariff in segments)
    return segments if covered == (end - start).days else None
