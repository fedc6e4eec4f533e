"""Billing writes: tariffs, the month's runs per supply unit, back-billing."""

from refmeter.billing.services.back_billing import (
    BackBillingExists,
    BackBillingOverBound,
    BackBillingOverlaps,
    BackBillingPreview,
    back_billing_approve,
    back_billing_compute,
    back_billing_withdraw,
)
from refmeter.billing.services.base import UnableToBill, energy, may_bill, money, require_billing
from refmeter.billing.services.runs import (
    RunResult,
    billing_period_parse,
    billing_run,
    billing_run_close,
)
from refmeter.billing.services.tariffs import tariff_create

__all__ = [
    "BackBillingExists",
    "BackBillingOverBound",
    "BackBillingOverlaps",
    "BackBillingPreview",
    "RunResult",
    "UnableToBill",
    "back_billing_approve",
    "back_billing_compute",
    "back_billing_withdraw",
    "billing_period_parse",
    "billing_run",
    "billing_run_close",
    "energy",
    "may_bill",
    "money",
    "require_billing",
    "tariff_create",
]
