from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from refmeter.common.periods import UnusableMonth, month_parse
from refmeter.lineloss.selectors import lineloss_report
from refmeter.organisations.api import TokenAuth
from refmeter.organisations.models import User
from refmeter.organisations.selectors import unit_scope

router = Router(auth=TokenAuth(), tags=["line loss"])


class AreaOut(Schema):
    area_number: str
    area_name: str
    point_days: int
    virtual: Decimal
    supply: Decimal | None
    sales: Decimal | None
    loss_before: Decimal | None
    loss_after: Decimal | None
    class_before: str
    class_after: str
    band_after: str
    moved: str


class Refused(Schema):
    detail: str


@router.get("/lineloss", response={200: list[AreaOut], 400: Refused})
def get_lineloss(request: HttpRequest, period: str) -> Any:
    """Each area's virtual energy for a month, for the line-loss system, with the loss rates."""
    try:
        month = month_parse(period)
    except UnusableMonth as error:
        raise HttpError(400, str(error)) from None
    return lineloss_report(period=month, unit_filter=unit_scope(user=cast(User, request.user)))
