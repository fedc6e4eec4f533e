"""SMS gateways. The default records notices in the outbox (the Notice table) for another
system to pick up; ``HttpGateway`` posts each one to an HTTP gateway. Choose with the
setting ``REFMETER_SMS_BACKEND`` (a dotted path); the HTTP gateway reads
``REFMETER_SMS_GATEWAY_URL`` and ``REFMETER_SMS_GATEWAY_TOKEN``.

A gateway answers one of: "recorded" (in the outbox), "sent" (the gateway took it),
"failed" (it certainly did not go: no connection, or the gateway refused it; safe to try
again) or "unknown" (the request went out but no answer came back: it may have been sent,
so it is not tried again without a person deciding)."""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from refmeter.common.text import clean_text


@dataclass(frozen=True)
class Delivery:
    status: str  # "recorded", "sent", "failed" or "unknown"
    detail: str = ""


class Gateway(Protocol):
    name: str

    def send(self, *, phone: str, message: str, reference: str = "") -> Delivery: ...


def sms_phone(text: str) -> str:
    """A phone number as the gateway takes it: digits only, without the +86 / 0086 prefix
    of a mobile number; "" when there is none."""
    digits = re.sub(r"\D", "", clean_text(text))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix) :]
    return digits


class Outbox:
    name = "outbox"

    def send(self, *, phone: str, message: str, reference: str = "") -> Delivery:
        return Delivery("recorded")


class HttpGateway:
    """POSTs ``{"phone", "message", "reference"}`` as JSON; ``reference`` names the notice,
    so a gateway that keeps references can drop a repeat."""

    name = "http"
    timeout = 10

    def __init__(self) -> None:
        self.url = settings.REFMETER_SMS_GATEWAY_URL
        self.token = settings.REFMETER_SMS_GATEWAY_TOKEN

    def send(self, *, phone: str, message: str, reference: str = "") -> Delivery:
        body = json.dumps(
            {"phone": phone, "message": message, "reference": reference}, ensure_ascii=False
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(300).decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as refusal:
            answer = refusal.read(200).decode("utf-8", "replace")
            return Delivery(
                "failed",
                _("短信网关拒绝：HTTP %(status)d %(answer)s")
                % {"status": refusal.code, "answer": answer},
            )
        except urllib.error.URLError as error:
            # raised while connecting or sending the request: the gateway did not get it
            return Delivery("failed", _("无法连接短信网关：%(error)s") % {"error": error.reason})
        except (OSError, http.client.HTTPException) as error:
            # the request went out but no answer came back
            return Delivery(
                "unknown",
                _("短信网关未应答，不知道短信是否已发出：%(error)s") % {"error": repr(error)},
            )
        if 200 <= status < 300:
            return Delivery("sent", answer)
        return Delivery(
            "failed",
            _("短信网关拒绝：HTTP %(status)d %(answer)s") % {"status": status, "answer": answer},
        )


def gateway() -> Gateway:
    return import_string(settings.REFMETER_SMS_BACKEND)()
