"""API for the data-collection and marketing systems: readings in, cases and bills out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, cast

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from refmeter.anomalies.selectors import case_rows, visible_cases
from refmeter.billing.models import BillStatus
from refmeter.billing.selectors.runs import visible_bills
from refmeter.common.periods import UnusableMonth, month_parse
from refmeter.organisations.api import TokenAuth
from refmeter.organisations.models import User
from refmeter.readings.services import UnableToImportReadings, readings_import

router = Router(auth=TokenAuth(), tags=["metering and billing"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


class ReadingIn(Schema):
    meter_asset_number: str
    reading_date: dt.date
    forward_total: Decimal
    reverse_total: Decimal
    sharp: Decimal | None = None
    peak: Decimal | None = None
    flat: Decimal | None = None
    valley: Decimal | None = None


class ReadingsBatch(Schema):
    readings: list[ReadingIn] = Field(..., max_length=100_000)


class ReadingsResult(Schema):
    rows: int
    created: int
    corrected: int
    unchanged: int


class Problems(Schema):
    """A batch refused: every problem, row by row (none when the body itself was unusable)."""

    detail: str
    problems: list[str] = []


class Refused(Schema):
    detail: str


# Beyond any count of bills or cases; a bigger offset is a mistake, not a page.
MAX_OFFSET = 10_000_000


@router.post("/readings", response={200: ReadingsResult, 400: Problems, 403: Refused})
def post_readings(request: HttpRequest, batch: ReadingsBatch) -> Any:
    """A batch of daily frozen readings, all or none (the same rules as a file)."""
    header = ["meter_asset_number", "reading_date", "forward_total", "reverse_total",
              "sharp", "peak", "flat", "valley"]  # fmt: skip
    rows: list[list[object]] = [header] + [
        [getattr(item, key) if getattr(item, key) is not None else "" for key in header]
        for item in batch.readings
    ]
    try:
        result = readings_import(
            actor=_user(request), rows=rows, file_name="api", today=timezone.localdate(),
            now=timezone.now(),
        )  # fmt: skip
    except UnableToImportReadings as error:
        return Status(400, {"detail": _("未导入：数据有问题。"), "problems": error.problems})
    return result.as_dict()


class CaseOut(Schema):
    case_id: int
    group_id: int
    base_account_number: str
    meter_asset_number: str
    kind: str
    status: str
    condition_since: dt.date
    raised_on: dt.date
    evidence: dict[str, Any]
    sheet_number: str
    cause_label: str


@router.get("/anomalies", response={200: list[CaseOut], 403: Refused})
def list_anomalies(
    request: HttpRequest,
    status: Literal["open", "cleared", "closed"] = "open",
    limit: int = Query(500, ge=1, le=5000),
) -> Any:
    cases = visible_cases(user=_user(request)).filter(status=status).order_by("raised_on")
    return case_rows(cases=cases[:limit], today=timezone.localdate())


class BillOut(Schema):
    bill_id: int = Field(..., alias="pk")
    number: str
    revision: int
    unit_code: str = Field(..., alias="run.unit.code")
    base_account_number: str
    customer_name: str
    kind: str
    period_start: dt.date
    period_end: dt.date
    reference_energy: Decimal
    point_days: int
    billed_energy: Decimal
    energy_amount: Decimal
    adjustment_amount: Decimal
    total_amount: Decimal


@router.get("/bills", response={200: list[BillOut], 400: Refused, 403: Refused})
def list_bills(
    request: HttpRequest,
    period: str,
    limit: int = Query(1000, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Any:
    """The issued bills of a month, of the units the token's user may see."""
    try:
        start = month_parse(period).start_date
    except UnusableMonth as error:
        raise HttpError(400, str(error)) from None
    bills = (
        visible_bills(user=_user(request))
        .filter(run__period_start=start, status=BillStatus.ISSUED)
        .select_related("run__unit")
        .order_by("base_account_number")
    )
    return list(bills[offset : offset + limit])
