"""Work the answer does not depend on runs once the server has sent the answer."""

from __future__ import annotations

import logging

from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import RequestFactory

from refmeter.common.after_response import AfterResponseMiddleware, after_response


def close(response) -> None:
    """What the WSGI server does once it has sent the answer (as the test client does it:
    without closing the test's database connection)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def answering(work_done: list[str], *works: str):
    def view(request):
        for name in works:
            after_response(request, lambda name=name: work_done.append(name))
        return HttpResponse("答复")

    return AfterResponseMiddleware(view)


class TestAfterResponse:
    def test_the_work_waits_until_the_server_closes_the_response(self):
        done: list[str] = []
        response = answering(done, "扫码记录")(RequestFactory().get("/"))

        before_close = list(done)
        close(response)

        assert before_close == []
        assert done == ["扫码记录"]

    def test_works_run_in_the_order_they_were_asked_for(self):
        done: list[str] = []
        response = answering(done, "first", "second")(RequestFactory().get("/"))

        close(response)

        assert done == ["first", "second"]

    def test_a_failing_work_is_logged_and_the_next_one_still_runs(self, caplog):
        done: list[str] = []

        def view(request):
            after_response(request, lambda: 1 / 0)
            after_response(request, lambda: done.append("after the failure"))
            return HttpResponse("答复")

        response = AfterResponseMiddleware(view)(RequestFactory().get("/"))

        with caplog.at_level(logging.ERROR, logger="refmeter.common.after_response"):
            close(response)

        assert done == ["after the failure"]
        assert [record.message for record in caplog.records] == ["Work after the response failed"]

    def test_a_request_without_work_leaves_the_response_as_it_was(self):
        response = answering([])(RequestFactory().get("/"))

        assert response.content.decode() == "答复"
