from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError

from refmeter.common.periods import Period
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


@router.get("/lineloss", response=list[AreaOut])
def get_lineloss(request: HttpRequest, period: str) -> Any:
    """Each area's virtual energy for a month, for the line-loss system, with the loss rates."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", period)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise HttpError(400, _("账期格式应为 YYYY-MM。"))
    return lineloss_report(
        period=Period.month(int(match.group(1)), int(match.group(2))),
        unit_filter=unit_scope(user=cast(User, request.user)),
    )
