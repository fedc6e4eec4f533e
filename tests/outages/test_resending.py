"""Resending outage notices by hand: what failed, with who and when, never twice."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.common.models import Job
from refmeter.outages.models import Notice, NoticeStatus
from refmeter.outages.services import (
    UnableToSendNotices,
)
from tests import factories
from tests.outages.sending import (
    CLOCK,
    PHONE_A,
    PHONE_B,
    outage,
    press,
    resend,
    statuses,
)


@pytest.mark.django_db(transaction=True)
class TestResendingByHand:
    def test_failed_notices_are_resent_with_who_and_when(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)
        gateway.answers = [500] * 10
        resend_at = CLOCK + dt.timedelta(minutes=3)

        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
        gateway.answers = []
        with time_machine.travel(resend_at, tick=False):
            page = resend(client, target)
            factories.run_queued_tasks()
        detail = client.get(reverse("outages:detail", args=[target.pk])).content.decode()

        assert "已重新提交 2 条通知" in page.content.decode()
        assert statuses(target) == [(PHONE_A, "sent", 2), (PHONE_B, "sent", 2)]
        notice = Notice.objects.get(phone=PHONE_A)
        assert (notice.resent_by, notice.resent_at) == (sender, resend_at)
        entry = AuditEntry.objects.get(action="outage.notices_resend")
        assert (entry.actor_id, entry.after) == (
            sender.pk, {"phones": [PHONE_A, PHONE_B]}
        )  # fmt: skip
        assert "测试客户经理" in detail and "已发送" in detail

    def test_an_unknown_notice_is_resent_only_when_picked(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)
        gateway.answers = [0, 0]

        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
            refused = resend(client, target)
            picked = Notice.objects.get(phone=PHONE_B)
            resend(client, target, picked)
            factories.run_queued_tasks()

        assert "没有可重发的通知。" in refused.content.decode()
        assert statuses(target) == [(PHONE_A, "unknown", 1), (PHONE_B, "sent", 2)]
        assert gateway.phones() == [PHONE_A, PHONE_B, PHONE_B]

    def test_nothing_to_resend_is_refused_and_nothing_changes(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)
        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
        before = list(Notice.objects.order_by("pk").values())

        page = resend(client, target)

        assert "没有可重发的通知。" in page.content.decode()
        assert list(Notice.objects.order_by("pk").values()) == before
        assert Job.objects.count() == 1
        assert not AuditEntry.objects.filter(action="outage.notices_resend").exists()


@pytest.mark.django_db(transaction=True)
class TestResendingOnlyWhatFailed:
    def test_a_delivered_notice_is_never_resent(self, client, city, sender, street, gateway):
        target = outage(city, city.south_area)
        client.force_login(sender)
        gateway.answers = [200, 500] + [500] * 10  # A is delivered, B fails
        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
        delivered = Notice.objects.get(status=NoticeStatus.SENT)
        asked = len(gateway.received)

        jobs = Job.objects.count()

        step = client.get(reverse("outages:resend", args=[target.pk]), {"notice": delivered.pk})
        refused = resend(client, target, delivered)

        assert "没有可重发的通知" in step.content.decode()
        assert "没有可重发的通知。" in refused.content.decode()
        assert Notice.objects.get(pk=delivered.pk).attempts == 1
        assert (Job.objects.count(), len(gateway.received)) == (jobs, asked)

    def test_two_resends_at_once_send_each_failed_notice_once(self, city, street, gateway):
        from refmeter.outages.tasks import notices_resend_start, outage_send_start

        target = outage(city, city.south_area)
        gateway.answers = [500] * 10
        with time_machine.travel(CLOCK, tick=False):
            outage_send_start(actor=city.south_admin, outage_id=target.pk, now=CLOCK,
                              confirmed=True)  # fmt: skip
            factories.run_queued_tasks()
        gateway.answers = []
        gateway.received.clear()
        outcomes: list[str] = []
        parallel = connection.vendor == "postgresql"
        start = threading.Barrier(2 if parallel else 1)
        later = CLOCK + dt.timedelta(minutes=3)

        def work():
            try:
                start.wait()
                notices_resend_start(actor=city.south_admin, outage_id=target.pk, now=later,
                                     confirmed=True)  # fmt: skip
                outcomes.append("resent")
            except UnableToSendNotices as refusal:
                outcomes.append(str(refusal))
            finally:
                if parallel:
                    connection.close()

        if parallel:
            threads = [threading.Thread(target=work) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:
            work()
            work()
        with time_machine.travel(later, tick=False):
            factories.run_queued_tasks()

        assert sorted(outcomes) == ["resent", "没有可重发的通知。"]
        assert gateway.phones() == [PHONE_A, PHONE_B]
        assert statuses(target) == [(PHONE_A, "sent", 2), (PHONE_B, "sent", 2)]
