"""Load tariffs (电价代码, 名称, 单一/分时, prices, 执行日期) with their history: one row per
code and date; a row dated after a code's latest price ends that price's period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange
from refmeter.billing.models import BillingRun, RunStatus, Tariff, TariffKind
from refmeter.common.bulk import insert
from refmeter.masterdata.services.base import LoadResult, audit, describe, update
from refmeter.masterdata.services.run import Writer
from refmeter.masterdata.sheet import Table
from refmeter.masterdata.specs import PRICES, SINGLE_WORD, TOU_PRICES, TOU_WORD, tariff_kind_word
from refmeter.organisations.models import User


def plan_tariffs(*, table: Table, result: LoadResult, actor: User, now: dt.datetime) -> Writer:
    existing = {(tariff.code, tariff.effective_from): tariff for tariff in Tariff.objects.all()}
    latest: dict[str, dt.date] = {}
    for code, day in existing:
        latest[code] = max(day, latest.get(code, day))
    closed_until = BillingRun.objects.filter(status=RunStatus.CLOSED).aggregate(
        end=Max("period_end")
    )["end"]
    seen: set[tuple[str, dt.date]] = set()
    creates: list[Tariff] = []
    changes: list[tuple[Tariff, dict[str, tuple[Any, Any]]]] = []
    for row in table.rows:
        code = table.text(row, "code", max_length=32).replace(" ", "")
        name = table.text(row, "name", max_length=100)
        kind_text = table.text(row, "kind")
        effective_from = table.date(row, "effective_from")
        prices: dict[str, Decimal | None] = {
            key: table.decimal(row, key, places=4) for key in PRICES
        }
        kind: str | None = None
        if TOU_WORD in kind_text or kind_text.lower() == TariffKind.TIME_OF_USE:
            kind = TariffKind.TIME_OF_USE
        elif SINGLE_WORD in kind_text or kind_text.lower() == TariffKind.SINGLE:
            kind = TariffKind.SINGLE
        elif kind_text:
            table.problem(
                row, "kind", _("应为“单一”或“分时”，而不是“%(value)s”。") % {"value": kind_text}
            )
        if kind == TariffKind.SINGLE:
            if prices["price"] is None and table.raw(row, "price") in (None, ""):
                table.problem(row, "price", _("单一电价须填写电度电价。"))
            for key in TOU_PRICES:
                if prices[key] is not None:
                    table.problem(row, key, _("单一电价不填分时电价。"))
        elif kind == TariffKind.TIME_OF_USE:
            for key in TOU_PRICES:
                if prices[key] is None and table.raw(row, key) in (None, ""):
                    table.problem(row, key, _("分时电价须填写尖峰、高峰、平段、低谷四个电价。"))
            if prices["price"] is not None:
                table.problem(row, "price", _("分时电价不填电度电价。"))
        if not code or not name or kind is None or effective_from is None:
            continue
        if (code, effective_from) in seen:
            table.row_problem(
                row, _("电价代码 %(code)s 在 %(date)s 的电价重复。")
                % {"code": code, "date": effective_from},
            )  # fmt: skip
            continue
        seen.add((code, effective_from))
        values: dict[str, Any] = {"name": name, "kind": kind, **prices}
        current = existing.get((code, effective_from))
        if current is None:
            if closed_until is not None and effective_from < closed_until:
                table.problem(
                    row, "effective_from",
                    _("%(date)s 所在月份已关账，不能补录更早执行的电价。")
                    % {"date": effective_from},
                )  # fmt: skip
                continue
            creates.append(Tariff(code=code, effective_from=effective_from, **values))
            continue
        differing = {
            key: (getattr(current, key), value)
            for key, value in values.items()
            if getattr(current, key) != value
        }
        if differing and closed_until is not None and effective_from < closed_until:
            table.row_problem(
                row, _("电价代码 %(code)s 自 %(date)s 的电价已用于关账月份，不能修改。")
                % {"code": code, "date": effective_from},
            )  # fmt: skip
            continue
        if differing:
            changes.append((current, differing))
        else:
            result.unchanged += 1
    result.created = [
        f"{tariff.code} {tariff.name} {tariff_kind_word(tariff.kind)} {tariff.effective_from}"
        for tariff in creates
    ]
    result.changed = [
        f"{tariff.code} {tariff.effective_from}：{describe(diff)}" for tariff, diff in changes
    ]
    # A new price after a code's latest one ends the latest one's period.
    for tariff in sorted(creates, key=lambda item: (item.code, item.effective_from)):
        previous = latest.get(tariff.code)
        if previous is not None and previous < tariff.effective_from:
            result.closed.append(
                _("电价代码 %(code)s 自 %(start)s 的电价执行至 %(end)s")
                % {"code": tariff.code, "start": previous, "end": tariff.effective_from}
            )
        if previous is None or previous < tariff.effective_from:
            latest[tariff.code] = tariff.effective_from

    def write(reason: str) -> None:
        insert(Tariff, creates, key=("code", "effective_from"))
        for tariff, differing in changes:
            for key, (_before, after) in differing.items():
                setattr(tariff, key, after)
        update(Tariff, [tariff for tariff, _diff in changes], fields=["name", "kind", *PRICES])
        entries = [
            AuditChange(
                action="tariff.create",
                subject_type="tariff",
                subject_id=tariff.pk,
                subject_label=f"{tariff.code} {tariff.effective_from}",
                after=_snapshot(tariff),
            )
            for tariff in creates
        ] + [
            AuditChange(
                action="tariff.update",
                subject_type="tariff",
                subject_id=tariff.pk,
                subject_label=f"{tariff.code} {tariff.effective_from}",
                before={key: _text(before) for key, (before, _after) in differing.items()},
                after={key: _text(after) for key, (_before, after) in differing.items()},
            )
            for tariff, differing in changes
        ]
        audit(actor=actor, now=now, changes=entries, reason=reason)

    return write


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _snapshot(tariff: Tariff) -> dict[str, Any]:
    return {
        "code": tariff.code,
        "name": tariff.name,
        "kind": tariff.kind,
        "effective_from": tariff.effective_from.isoformat(),
        **{key: _text(getattr(tariff, key)) for key in PRICES},
    }
