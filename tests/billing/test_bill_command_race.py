"""Two `refmeter bill --period P --close` started at once: the month is closed once and a
closed month is never recomputed."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from refmeter.audit.models import AuditEntry
from refmeter.billing.models import Bill, BillingRun, BillRevision, RunStatus
from refmeter.billing.services import billing_run
from tests.billing.test_runs import june_readings

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


def run_at_once(*calls):
    outcomes: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def work(index, call):
        from django.db import connections

        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def bill_and_close() -> str:
    out = io.StringIO()
    call_command("bill", "--period", "2026-06", "--close", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
class TestTwoClosingRunsAtOnce:
    @pytest.mark.parametrize("attempt", range(3))
    @pytest.mark.parametrize("billed_before", [False, True], ids=["first-run", "open-month"])
    def test_the_month_is_closed_once_and_never_recomputed_after(
        self, group, billing, billed_before, attempt
    ):
        june_readings(group)
        if billed_before:
            billing_run(actor=billing, period="2026-06", now=NOW)

        with time_machine.travel(NOW, tick=True):
            outcomes = run_at_once(bill_and_close, bill_and_close)

        run = BillingRun.objects.get()
        assert run.status == RunStatus.CLOSED
        [close] = AuditEntry.objects.filter(action="billing.close")
        assert not AuditEntry.objects.filter(action="billing.run", pk__gt=close.pk).exists()
        assert list(Bill.objects.values_list("revision", flat=True)) == [1]
        assert not BillRevision.objects.exists()
        texts = [str(outcome) for outcome in outcomes]
        closed_here = [text for text in texts if "已关账：" in text]
        left_alone = [
            text
            for text in texts
            if "已关账（已关账，未重算）" in text or text == "单位3350101 2026-06 已经关账。"
        ]
        assert (len(closed_here), len(left_alone)) == (1, 1), outcomes
