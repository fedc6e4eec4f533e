"""SMS gateways. The default records notices in the outbox (the Notice table) for another
system to pick up; ``HttpGateway`` posts each one to an HTTP gateway. Choose with the
setting ``REFMETER_SMS_BACKEND`` (a dotted path); the HTTP gateway reads
``REFMETER_SMS_GATEWAY_URL`` and ``REFMETER_SMS_GATEWAY_TOKEN``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Delivery:
    status: str  # "recorded", "sent" or "failed"
    detail: str = ""


class Outbox:
    name = "outbox"

    def send(self, *, phone: str, message: str) -> Delivery:
        return Delivery("recorded")


class HttpGateway:
    name = "http"

    def __init__(self) -> None:
        self.url = settings.REFMETER_SMS_GATEWAY_URL
        self.token = settings.REFMETER_SMS_GATEWAY_TOKEN

    def send(self, *, phone: str, message: str) -> Delivery:
        if not phone:
            return Delivery("failed", "no phone number")
        body = json.dumps({"phone": phone, "message": message}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = response.read(300).decode("utf-8", "replace")
                return Delivery("sent" if 200 <= response.status < 300 else "failed", answer)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            return Delivery("failed", str(error)[:300])


def gateway() -> Outbox | HttpGateway:
    return import_string(settings.REFMETER_SMS_BACKEND)()
