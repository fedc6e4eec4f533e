from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from refmeter.labels.selectors import point_scans, public_keys, scan_view
from refmeter.labels.services import scan_record
from refmeter.organisations.api import TokenAuth
from refmeter.organisations.models import User
from refmeter.registry.selectors import RecordNotVisible

router = Router(tags=["labels"])


class KeyOut(Schema):
    key_id: int
    algorithm: str
    public_key: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


class VerificationOut(Schema):
    valid: bool
    result: str
    reason: str
    serial: int | None
    account_number: str
    name: str
    device_address: str
    access_point: str
    area: str
    customer: str
    base_account_number: str
    status: str
    point_id: int | None
    personal: dict[str, str]


class ScanOut(Schema):
    scanned_at: dt.datetime
    serial: int | None
    result: str
    user: str


@router.get("/labels/keys", response=list[KeyOut], auth=None)
def list_keys(request: HttpRequest) -> Any:
    """The public keys that verify labels offline (token layout: see the labels docs)."""
    return public_keys()


@router.get("/labels/verify", response=VerificationOut, auth=TokenAuth())
def verify(request: HttpRequest, token: str) -> Any:
    """Verify a label token (or its scan URL) and fetch its point; the check is logged."""
    check = scan_record(token=token, user=request.user, now=timezone.now(), via="api")
    return scan_view(check=check, user=request.user, today=timezone.localdate())


class Refused(Schema):
    detail: str


@router.get(
    "/points/{point_id}/scans",
    response={200: list[ScanOut], 403: Refused, 404: Refused},
    auth=TokenAuth(),
)
def list_point_scans(request: HttpRequest, point_id: int) -> Any:
    try:
        return point_scans(user=cast(User, request.user), point_id=point_id)
    except RecordNotVisible as error:
        raise HttpError(404, str(error)) from error
