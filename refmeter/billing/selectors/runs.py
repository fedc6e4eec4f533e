"""Runs and bills as a user may see them: only those of their unit and the units under it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from refmeter.billing.models import Bill, BillingRun, BillStatus, ProblemReason
from refmeter.common.listing import in_batches
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope

CENT = Decimal("0.01")


def visible_runs(*, user: User) -> QuerySet[BillingRun]:
    return BillingRun.objects.filter(unit_scope(user=user, unit_field="unit")).select_related(
        "unit"
    )


def visible_bills(*, user: User) -> QuerySet[Bill]:
    """Issued bills of the user's units; a withdrawn bill is still found by its own page."""
    return Bill.objects.filter(unit_scope(user=user, unit_field="group__unit"))


@dataclass(frozen=True)
class RunRow:
    """A month of the runs list, with its issued bills' totals."""

    run_id: int
    period: str
    unit_name: str
    status_label: str
    computed_at: Any
    closed_at: Any
    billed: int
    unbilled: int
    billed_energy: Decimal
    total_amount: Decimal


def _cents(value: Any) -> Decimal:
    # SQLite sums decimals as floats' text: keep the two places of the columns.
    return Decimal(str(value or 0)).quantize(CENT)


def run_rows(*, runs: QuerySet[BillingRun]) -> Iterator[RunRow]:
    """Every run of ``runs`` in the list's order (newest month first), with its totals,
    read in batches: one query per batch whatever the number of runs or bills."""
    issued = Q(bills__status=BillStatus.ISSUED)
    annotated = runs.annotate(
        billed=Count("bills", filter=issued),
        energy=Sum("bills__billed_energy", filter=issued),
        amount=Sum("bills__total_amount", filter=issued),
    ).order_by("-period_start", "unit__path", "pk")
    for batch in in_batches(annotated):
        for run in batch:
            yield RunRow(
                run_id=run.pk,
                period=f"{run.period_start:%Y-%m}",
                unit_name=run.unit.name,
                status_label=run.get_status_display(),
                computed_at=run.computed_at,
                closed_at=run.closed_at,
                billed=run.billed,
                unbilled=len(run.problems),
                billed_energy=_cents(run.energy),
                total_amount=_cents(run.amount),
            )


def run_get(*, user: User, run_id: int) -> BillingRun | None:
    return visible_runs(user=user).filter(pk=run_id).first()


BILL_SORTS: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "account": ("base_account_number",),
    "customer": ("customer_name", "base_account_number"),
    "reference_energy": ("reference_energy",),
    "point_days": ("point_days",),
    "billed_energy": ("billed_energy",),
    "total_amount": ("total_amount",),
}


def run_bills(*, user: User, run: BillingRun, text: str = "", kind: str = "") -> QuerySet[Bill]:
    """The run's issued bills; ``text`` is the start of a bill or base account number, or
    part of the customer's name."""
    bills = visible_bills(user=user).filter(run=run, status=BillStatus.ISSUED)
    if text:
        bills = bills.filter(
            Q(number__startswith=text)
            | Q(base_account_number__startswith=text)
            | Q(customer_name__icontains=text)
        )
    if kind:
        bills = bills.filter(kind=kind)
    return bills.order_by("base_account_number")


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    label: str
    count: int


@dataclass(frozen=True)
class RunSummary:
    """What a billing user needs to see before closing a unit's month."""

    run_id: int
    unit: str
    period: str
    status: str
    status_label: str
    billed: int
    unbilled: int
    withdrawn: int
    billed_energy: Decimal
    total_amount: Decimal
    reasons: list[ReasonCount]
    problems: list[dict[str, str]]

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


def run_summary(*, run: BillingRun) -> RunSummary:
    figures = run.bills.aggregate(
        billed=Count("pk", filter=Q(status=BillStatus.ISSUED)),
        withdrawn=Count("pk", filter=Q(status=BillStatus.WITHDRAWN)),
        energy=Sum("billed_energy", filter=Q(status=BillStatus.ISSUED)),
        amount=Sum("total_amount", filter=Q(status=BillStatus.ISSUED)),
    )
    counts = Counter(problem.get("reason", "") for problem in run.problems)
    labels = dict(ProblemReason.choices)
    return RunSummary(
        run_id=run.pk,
        unit=run.unit.name,
        period=f"{run.period_start:%Y-%m}",
        status=run.status,
        status_label=run.get_status_display(),
        billed=figures["billed"],
        unbilled=len(run.problems),
        withdrawn=figures["withdrawn"],
        # SQLite sums decimals as floats' text: keep the two places of the columns.
        billed_energy=(figures["energy"] or Decimal(0)).quantize(CENT),
        total_amount=(figures["amount"] or Decimal(0)).quantize(CENT),
        reasons=[
            ReasonCount(reason=reason, label=str(labels.get(reason, _("其他"))), count=count)
            for reason, count in counts.most_common()
        ],
        problems=list(run.problems),
    )
