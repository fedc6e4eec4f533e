"""What the outage sending tests share: the clock, an HTTP SMS gateway on 127.0.0.1, and
the steps a sender takes on the outage page."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.urls import reverse

from refmeter.outages.models import Notice, OutageKind
from refmeter.outages.services import (
    outage_create,
)

CLOCK = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shaoxing


START = dt.datetime(2026, 11, 10, 0, 30, tzinfo=dt.UTC)


END = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


PHONE_A = "13900000001"


PHONE_B = "13900000002"


class FakeGateway:
    """An HTTP SMS gateway on 127.0.0.1 that keeps every request. ``answers`` are the HTTP
    statuses of the next requests in turn (0: hang up without answering); then 200."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answers: list[int] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.received.append(body)
                    status = fake.answers.pop(0) if fake.answers else 200
                time.sleep(fake.delay)
                if status == 0:
                    self.close_connection = True
                    return
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "busy"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/sms"

    def phones(self) -> list[str]:
        return sorted(item["phone"] for item in self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def outage(city, *areas, unit=None, actor=None):
    return outage_create(
        actor=actor or city.south_admin, unit=unit or city.south, kind=OutageKind.PLANNED,
        starts_at=START, ends_at=END, reason="线路检修",
        area_numbers=[area.number for area in areas], access_point_numbers=[],
        now=CLOCK - dt.timedelta(days=1),
    )  # fmt: skip


def press(client, target, *, follow=True, confirm=True):
    """Send from the outage page: the sender ticks the confirmation under the preview."""
    data = {"confirm": "1"} if confirm else {}
    return client.post(reverse("outages:send", args=[target.pk]), data, follow=follow)


def resend(client, target, *notices, follow=True, confirm=True):
    """Confirm a resend on its confirmation step (every failed notice, or those given)."""
    data = {"notice": [notice.pk for notice in notices]}
    if confirm:
        data["confirm"] = "1"
    return client.post(reverse("outages:resend", args=[target.pk]), data, follow=follow)


def statuses(target) -> list[tuple[str, str, int]]:
    return list(
        Notice.objects.filter(outage=target)
        .order_by("phone")
        .values_list("phone", "status", "attempts")
    )


def preview(client, target) -> tuple[list[str], str]:
    """The texts the outage page shows before sending, and the fingerprint its form posts."""
    import html
    import re

    page = client.get(reverse("outages:detail", args=[target.pk])).content.decode()
    texts = [
        html.unescape(text)
        for text in re.findall(r'data-testid="preview-message">(.*?)</td>', page)
    ]
    digest = re.search(r'name="preview" value="([0-9a-f]+)"', page)
    return texts, digest.group(1) if digest else ""
