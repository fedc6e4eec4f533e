"""Writes the answer does not depend on, done once the answer has been sent.

A view (or the API's token check) calls ``after_response(request, work)``; the middleware
hands the work to the response, whose ``close()`` the WSGI server calls after it has sent
the answer (PEP 3333), so the client does not wait for it: the scan log of an anonymous
scan, an API token's last use. The work still runs in the same worker, before it takes
the next request, with the request's database connection; an error in it is logged, not
shown to the client, who has the answer already.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

_PENDING = "_refmeter_after_response"

Work = Callable[[], object]


def after_response(request: HttpRequest, work: Work) -> None:
    """Do ``work`` after the answer to ``request`` has been sent."""
    request.__dict__.setdefault(_PENDING, []).append(work)


def _logged(work: Work) -> Work:
    def run() -> None:
        try:
            work()
        except Exception:
            logger.exception("Work after the response failed")

    return run


class AfterResponseMiddleware:
    """Outermost, so that the work goes with the response the server really sends."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        pending: list[Work] = request.__dict__.pop(_PENDING, [])
        # Django runs a response's resource closers in close(), before request_finished
        # (which may close the database connection the work is about to use).
        closers = getattr(response, "_resource_closers", None)
        for work in pending:
            if closers is None:
                _logged(work)()
            else:
                closers.append(_logged(work))
        return response
