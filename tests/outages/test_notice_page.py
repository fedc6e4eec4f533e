"""The outage page's notices: their status, the preview of each text, the confirmation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.common.models import Job
from refmeter.outages.models import Notice, NoticePoint, NoticeStatus
from refmeter.registry.models import PointKind
from tests import factories
from tests.outages.sending import (
    CLOCK,
    PHONE_A,
    PHONE_B,
    outage,
    press,
    preview,
    resend,
)


class TestTheOutagePage:
    def test_shows_the_jobs_progress_and_each_notices_status(
        self, client, city, street, django_assert_max_num_queries
    ):
        target = outage(city, city.south_area)
        Notice.objects.create(outage=target, phone=PHONE_A, message="m", created_at=CLOCK,
                              status=NoticeStatus.SENT, attempts=1, sent_at=CLOCK)  # fmt: skip
        Notice.objects.create(outage=target, phone=PHONE_B, message="m", created_at=CLOCK,
                              status=NoticeStatus.FAILED, attempts=2, detail="HTTP 503",
                              next_attempt_at=CLOCK + dt.timedelta(minutes=5))  # fmt: skip
        from refmeter.common.jobs import job_create, job_progress
        from refmeter.outages.tasks import OUTAGE_NOTIFY

        job = job_create(kind=OUTAGE_NOTIFY, created_by=city.south_admin,
                         parameters={"outage_id": target.pk}, now=CLOCK)  # fmt: skip
        job_progress(job_id=job.pk, done=1, total=2, message="发送短信")
        client.force_login(city.south_clerk)

        # the page, the progress, the notices and the preview (template, covered, numbers)
        with django_assert_max_num_queries(17):
            page = client.get(reverse("outages:detail", args=[target.pk])).content.decode()
        polled = client.get(
            reverse("outages:progress", args=[target.pk]), headers={"HX-Request": "true"}
        )
        fragment = polled.content.decode()

        assert f"发送任务 #{job.pk}" in page and "1 / 2" in page
        assert "已发送" in page and "发送失败" in page and "HTTP 503" in page
        assert "11-02 09:05 自动重试" in page
        assert 'hx-trigger="every 2s"' in fragment and "1 / 2" in fragment
        assert "HX-Refresh" not in polled.headers  # still running: keep polling
        base = street[0].points.get(kind=PointKind.BASE)
        assert base.account_number in page
        assert page.count("<td>未通知</td>") == 5  # these notices cover no point


@pytest.mark.django_db(transaction=True)
class TestNoticesSentBeforeThisChange:
    def test_repeats_to_one_number_are_voided_and_every_point_stays_linked(self, city, street):
        from django.db.migrations.executor import MigrationExecutor

        target = outage(city, city.south_area)
        a_points = list(street[0].points.order_by("account_number"))
        b_points = list(street[1].points.order_by("account_number"))
        executor = MigrationExecutor(connection)
        latest = executor.loader.graph.leaf_nodes("outages")
        executor.migrate([("outages", "0001_initial")])
        try:
            old = executor.loader.project_state([("outages", "0001_initial")]).apps
            old_notice = old.get_model("outages", "Notice")
            rows = [  # a double click: A's number got three SMS, one failed; B had no number
                (a_points[0], "139 0000 0001", "failed"),
                (a_points[1], "13900000001", "sent"),
                (a_points[2], "13900000001", "sent"),
                (b_points[0], "", "failed"),
                (b_points[1], "", "failed"),
            ]
            for point, phone, status in rows:
                old_notice.objects.create(
                    outage_id=target.pk, point_id=point.pk, account_number=point.account_number,
                    customer_name="中国移动", phone=phone, message="停电", backend="http",
                    status=status, created_at=CLOCK,
                )  # fmt: skip
        finally:
            executor = MigrationExecutor(connection)
            executor.migrate(latest)

        kept = Notice.objects.exclude(status=NoticeStatus.VOID).get()
        assert (kept.phone, kept.status, kept.attempts, kept.sent_at) == (
            PHONE_A, "sent", 1, CLOCK,
        )  # fmt: skip
        assert Notice.objects.filter(status=NoticeStatus.VOID).count() == 4
        assert sorted(kept.points.values_list("account_number", flat=True)) == [
            point.account_number for point in a_points
        ]
        assert NoticePoint.objects.count() == 3


@pytest.mark.django_db(transaction=True)
class TestThePreview:
    def test_is_exactly_the_text_each_number_receives(self, client, city, sender, street, gateway):
        target = outage(city, city.south_area)
        client.force_login(sender)

        with time_machine.travel(CLOCK, tick=False):
            texts, digest = preview(client, target)
            client.post(reverse("outages:send", args=[target.pk]),
                        {"confirm": "1", "preview": digest})  # fmt: skip
            factories.run_queued_tasks()

        received = [item["message"] for item in sorted(gateway.received, key=lambda i: i["phone"])]
        assert len(texts) == 2 and texts[0].startswith(
            f"【供电公司】尊敬的{street[0].customer.name}："
        )
        assert received == texts
        assert [notice.message for notice in Notice.objects.order_by("phone")] == texts
        assert [notice.template.version for notice in Notice.objects.all()] == [1, 1]

    def test_a_template_edited_since_the_page_was_opened_is_refused_and_nothing_goes(
        self, client, city, sender, street, gateway
    ):
        from refmeter.outages.selectors import notice_template_current
        from refmeter.outages.services import notice_template_update

        target = outage(city, city.south_area)
        client.force_login(sender)
        _texts, digest = preview(client, target)
        notice_template_update(
            actor=city.south_admin, text="{customer}：{window}停电，{count}个用电点。", note="",
            based_on=notice_template_current().version, now=CLOCK,
        )  # fmt: skip

        page = client.post(reverse("outages:send", args=[target.pk]),
                           {"confirm": "1", "preview": digest}, follow=True)  # fmt: skip
        factories.run_queued_tasks()

        assert "通知模板或受影响的用电点已有变化" in page.content.decode()
        assert (Job.objects.count(), Notice.objects.count(), gateway.received) == (0, 0, [])

    def test_after_sending_shows_what_was_sent_and_nothing_left_to_send(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)

        with time_machine.travel(CLOCK, tick=False):
            texts, _digest = preview(client, target)
            press(client, target)
            factories.run_queued_tasks()
            page = client.get(reverse("outages:detail", args=[target.pk])).content.decode()

        assert preview(client, target) == ([], "")
        assert "没有待发送的通知" in page
        assert all(f'data-testid="sent-message">{text}' in page for text in texts)
        assert page.count("模板第 1 版") == 2


@pytest.mark.django_db(transaction=True)
class TestConfirmation:
    def test_sending_without_it_sends_nothing_and_says_why(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)

        page = press(client, target, confirm=False)
        factories.run_queued_tasks()

        assert page.status_code == 200
        assert "短信发出后不能撤回：请先核对将要发送的短信内容" in page.content.decode()
        assert (Job.objects.count(), Notice.objects.count(), gateway.received) == (0, 0, [])
        assert not AuditEntry.objects.filter(action="outage.notify").exists()

    def test_resending_without_it_resends_nothing_and_shows_the_step_again(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)
        gateway.answers = [500] * 10
        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
        before = list(Notice.objects.order_by("pk").values())
        asked, jobs = len(gateway.received), Job.objects.count()

        step = client.get(reverse("outages:resend", args=[target.pk]))
        refused = resend(client, target, confirm=False)

        assert step.status_code == 200 and 'data-testid="confirm-resend"' in step.content.decode()
        assert Notice.objects.get(phone=PHONE_A).message in step.content.decode()
        assert refused.status_code == 400
        assert "重发的短信不能撤回：请先核对将要重发的通知" in refused.content.decode()
        assert list(Notice.objects.order_by("pk").values()) == before
        assert (Job.objects.count(), len(gateway.received)) == (jobs, asked)
