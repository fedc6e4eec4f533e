"""Billing runs: each supply unit bills and closes its own month.

A run covers the groups of one unit. Only a month that has ended can be billed. An open
month can be recomputed (``bills.py`` keeps each bill's identity); a closed month is
never recomputed. Closing is its own, confirmed action.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.billing.models import (
    BillingRun,
    BillKind,
    BillStatus,
    RunStatus,
)
from refmeter.billing.services.base import (
    UnableToBill,
    require_billing,
    require_billing_for_unit,
)
from refmeter.billing.services.bills import Progress, bills_compute
from refmeter.common.periods import Period, UnusableMonth, month_parse
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.readings.models import MeterReading
from refmeter.registry.models import (
    FinalBillRequest,
    Group,
    GroupStatus,
)


def _no_progress(done: int, total: int) -> None:
    return None


# ---------------------------------------------------------------- the period


def billing_period_parse(*, text: str, today: dt.date) -> Period:
    """The month named ``YYYY-MM``, if it can be billed: it has ended (its last day is
    before ``today``) and it is not before the system's first reading."""
    try:
        period = month_parse(text)
    except UnusableMonth as error:
        raise UnableToBill(str(error)) from error
    label = f"{period.start_date:%Y-%m}"
    if period.end_date > today:
        raise UnableToBill(
            _("%(period)s 尚未结束：只能为已经结束的月份出账（月末须早于今天）。")
            % {"period": label}
        )
    first = MeterReading.objects.aggregate(first=Min("reading_date"))["first"]
    if first is None:
        raise UnableToBill(_("系统中还没有任何日冻结读数，无法出账。"))
    if period.end_date <= first:
        raise UnableToBill(
            _("%(period)s 早于系统的第一条日冻结读数（%(first)s），无法出账。")
            % {"period": label, "first": first.isoformat()}
        )
    return period


# ---------------------------------------------------------------- results


@dataclass
class RunResult:
    run_id: int
    unit: str
    period: str
    status: str
    bills: int
    total_energy: Decimal
    total_amount: Decimal
    unchanged: bool = False
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def unbilled(self) -> int:
        return len(self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "unit": self.unit,
            "period": self.period,
            "status": self.status,
            "bills": self.bills,
            "unbilled": self.unbilled,
            "total_energy": str(self.total_energy),
            "total_amount": str(self.total_amount),
            "unchanged": self.unchanged,
            "problems": self.problems,
        }


def _summary(run: BillingRun, *, unchanged: bool) -> RunResult:
    bills = list(
        run.bills.filter(status=BillStatus.ISSUED).values_list("billed_energy", "total_amount")
    )
    return RunResult(
        run_id=run.pk,
        unit=run.unit.name,
        period=f"{run.period_start:%Y-%m}",
        status=run.status,
        bills=len(bills),
        total_energy=sum((row[0] for row in bills), Decimal(0)),
        total_amount=sum((row[1] for row in bills), Decimal(0)),
        unchanged=unchanged,
        problems=list(run.problems),
    )


# ---------------------------------------------------------------- compute and close


def _billing_units(*, actor: User | None, period: Period) -> list[SupplyUnit]:
    """The units whose groups the actor may bill and that have a group to bill this month."""
    groups = Group.objects.filter(created_date__lt=period.end_date).filter(
        Q(status=GroupStatus.RUNNING) | Q(closed_date__gt=period.start_date)
    )
    if actor is not None:
        groups = groups.filter(unit_scope(user=actor))
    return list(SupplyUnit.objects.filter(pk__in=groups.values("unit_id")).order_by("path"))


def billing_run(
    *,
    actor: User | None,
    period: str,
    now: dt.datetime,
    progress: Progress = _no_progress,
) -> list[RunResult]:
    """Bill a month for every unit the actor may bill (``None``: the whole company), one
    run per unit. A unit whose month is closed is left as it is."""
    require_billing(actor)
    month = billing_period_parse(text=period, today=timezone.localtime(now).date())
    units = _billing_units(actor=actor, period=month)
    if not units:
        raise UnableToBill(
            _("%(period)s 您的单位没有需要出账的群组。") % {"period": f"{month.start_date:%Y-%m}"}
        )
    return [
        _unit_run(actor=actor, unit=unit, period=month, now=now, progress=progress)
        for unit in units
    ]


def _unit_run(
    *, actor: User | None, unit: SupplyUnit, period: Period, now: dt.datetime, progress: Progress
) -> RunResult:
    with transaction.atomic():
        run, _created = BillingRun.objects.get_or_create(
            unit=unit,
            period_start=period.start_date,
            defaults={"period_end": period.end_date, "computed_at": now, "computed_by": actor},
        )
        # One computation or close of a unit's month at a time.
        run = BillingRun.objects.select_for_update().select_related("unit").get(pk=run.pk)
        if run.status == RunStatus.CLOSED:
            return _summary(run, unchanged=True)
        run.computed_at = now
        run.computed_by = actor
        run.problems = bills_compute(
            run=run, period=period, actor=actor, now=now, progress=progress
        )
        run.save(update_fields=["computed_at", "computed_by", "problems"])
        result = _summary(run, unchanged=False)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="billing.run",
                subject_type="billing_run",
                subject_id=run.pk,
                subject_label=f"{unit.name} {run.period_start:%Y-%m}",
                after={"status": run.status, "bills": result.bills, "unbilled": result.unbilled},
            ),
        )
    return result


class UnableToCloseMonth(UnableToBill):
    pass


def billing_run_close(
    *, actor: User | None, run_id: int, now: dt.datetime, allow_unbilled: bool = False
) -> RunResult:
    """Close a unit's month: its bills are final; corrections are back-billings from then on.
    Refused while a group is unbilled unless ``allow_unbilled``."""
    require_billing(actor, Action.CLOSE_BILLING_MONTH)
    with transaction.atomic():
        run = (
            BillingRun.objects.select_for_update(of=("self",))
            .select_related("unit")
            .filter(pk=run_id)
            .first()
        )
        if run is None or (actor is not None and not unit_is_visible(user=actor, unit=run.unit)):
            raise UnableToCloseMonth(_("没有这个账期，或它不属于您的单位。"))
        require_billing_for_unit(actor, run.unit, Action.CLOSE_BILLING_MONTH)
        label = f"{run.unit.name} {run.period_start:%Y-%m}"
        if run.status == RunStatus.CLOSED:
            raise UnableToCloseMonth(_("%(run)s 已经关账。") % {"run": label})
        if run.problems and not allow_unbilled:
            raise UnableToCloseMonth(
                _("%(run)s 还有 %(count)d 户未出账，不能关账：请先处理，或确认允许未出账户关账。")
                % {"run": label, "count": len(run.problems)}
            )
        run.status = RunStatus.CLOSED
        run.closed_at = now
        run.closed_by = actor
        run.save(update_fields=["status", "closed_at", "closed_by"])
        FinalBillRequest.objects.filter(
            group__bills__run=run,
            group__bills__kind=BillKind.FINAL,
            group__bills__status=BillStatus.ISSUED,
            billed_at__isnull=True,
        ).update(billed_at=now)
        result = _summary(run, unchanged=False)
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="billing.close",
                subject_type="billing_run",
                subject_id=run.pk,
                subject_label=label,
                before={"status": RunStatus.OPEN},
                after={
                    "status": RunStatus.CLOSED,
                    "bills": result.bills,
                    "unbilled": result.unbilled,
                },
            ),
        )
    return result
