"""Sending outage notices: a background job, one SMS per phone, retries, resending by hand."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from refmeter.audit.models import AuditEntry
from refmeter.common.models import Job, JobStatus
from refmeter.organisations.models import Role
from refmeter.outages.models import Notice, NoticePoint, NoticeStatus, OutageKind
from refmeter.outages.services import (
    UnableToSendNotices,
    notices_claim,
    notices_plan,
    outage_create,
)
from refmeter.registry.models import Customer, PointKind
from tests import factories

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


@pytest.fixture
def gateway(settings):
    fake = FakeGateway()
    settings.REFMETER_SMS_BACKEND = "refmeter.outages.sms.HttpGateway"
    settings.REFMETER_SMS_GATEWAY_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def sender(city):
    """Customer managers send the notices (docs/permissions.md)."""
    return factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER, username="sender")


@pytest.fixture
def street(city):
    """Area 0001: customer A's group (3 points, SMS number 13900000001) and customer B's
    group (2 points, SMS number typed with spaces); area 0002: customer C's group."""
    groups = []
    for number, subs, place in (
        (PHONE_A, 2, city.south_place),
        ("139 0000 0002", 1, city.south_place),
        ("13900000003", 1, city.south_other_place),
    ):
        customer = factories.customer(actor=city.south_admin, unit=city.south)
        Customer.objects.filter(pk=customer.pk).update(sms_number=number)
        groups.append(
            factories.group(actor=city.south_admin, unit=city.south, place=place,
                            sub_accounts=subs, customer_record=customer)
        )  # fmt: skip
    return groups


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


@pytest.mark.django_db(transaction=True)
class TestPressingSend:
    def test_queues_a_job_that_sends_one_sms_per_phone_for_all_its_points(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)

        with time_machine.travel(CLOCK, tick=False):
            page = press(client, target).content.decode()
            before_the_worker = list(gateway.received)
            factories.run_queued_tasks()

        job = Job.objects.get()
        assert "已提交发送任务" in page
        assert before_the_worker == []
        assert gateway.phones() == [PHONE_A, PHONE_B]
        assert statuses(target) == [(PHONE_A, "sent", 1), (PHONE_B, "sent", 1)]
        # A's three points, at two addresses (the base account and one sub-account share one)
        assert Notice.objects.get(phone=PHONE_A).message == (
            f"【供电公司】尊敬的{street[0].customer.name}：因线路检修，11月10日 08:30 至 17:00停电，"
            "贵单位3个用电点受影响：越城区城南街道1幢、越城区城南街道0幢。请提前做好准备。"
        )
        assert NoticePoint.objects.filter(outage=target).count() == 5
        assert (job.status, job.progress_done, job.progress_total) == (JobStatus.SUCCEEDED, 2, 2)
        assert job.result == {"outage_id": target.pk, "notices": 2, "points": 5, "sent": 2,
                              "recorded": 0, "failed": 0, "unknown": 0, "no_phone": 0,
                              "already": 0, "uncovered": 0}  # fmt: skip

    def test_a_second_press_while_the_job_waits_says_so_and_adds_no_job(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)

        with time_machine.travel(CLOCK, tick=False):
            first = press(client, target, follow=False)
            second = press(client, target)
            jobs_before_running = Job.objects.count()
            queued_tasks = DBTaskResult.objects.count()
            factories.run_queued_tasks()

        assert first.status_code == 302 and second.status_code == 200
        job = Job.objects.get()
        assert (
            f"停电通知正在排队或发送中（任务 #{job.pk}），请勿重复提交。" in second.content.decode()
        )
        assert (jobs_before_running, queued_tasks) == (1, 1)
        assert gateway.phones() == [PHONE_A, PHONE_B]

    def test_pressing_again_after_the_job_sends_nothing_twice(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)

        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
            page = press(client, target).content.decode()
            factories.run_queued_tasks()

        _first, second = Job.objects.order_by("pk")
        assert "已提交发送任务" in page
        assert gateway.phones() == [PHONE_A, PHONE_B]
        assert (second.status, second.result["notices"], second.result["already"]) == (
            JobStatus.SUCCEEDED, 0, 5,
        )  # fmt: skip
        assert statuses(target) == [(PHONE_A, "sent", 1), (PHONE_B, "sent", 1)]

    def test_another_units_outage_is_refused_and_nothing_is_queued(self, client, city, street):
        target = outage(city, city.south_area)
        client.force_login(factories.user(unit=city.north, role=Role.CUSTOMER_MANAGER))

        response = press(client, target, follow=False)

        assert response.status_code == 404
        assert "未找到该停电计划，或它不属于您的单位。" in response.content.decode()
        assert (Job.objects.count(), DBTaskResult.objects.count(), Notice.objects.count()) == (
            0, 0, 0,
        )  # fmt: skip


@pytest.mark.django_db(transaction=True)
class TestOneSmsPerPhone:
    def test_two_jobs_at_once_deliver_exactly_one_sms_per_phone(self, city, gateway):
        from refmeter.common.jobs import job_create
        from refmeter.outages.tasks import OUTAGE_NOTIFY, outage_notify_task

        phones = []
        for index in range(12):
            customer = factories.customer(actor=city.south_admin, unit=city.south)
            phones.append(f"1390000{index:04d}")
            Customer.objects.filter(pk=customer.pk).update(sms_number=phones[-1])
            factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                            sub_accounts=2, customer_record=customer)  # fmt: skip
        target = outage(city, city.south_area)
        jobs = []
        for _ in range(2):
            job = job_create(kind=OUTAGE_NOTIFY, created_by=city.south_admin,
                             parameters={"outage_id": target.pk}, now=CLOCK)  # fmt: skip
            outage_notify_task.enqueue(job.pk)
            jobs.append(job)
        gateway.delay = 0.02
        parallel = connection.vendor == "postgresql"

        if parallel:  # two workers, as on two servers sharing one PostgreSQL
            start = threading.Barrier(2)

            def work():
                try:
                    start.wait()
                    factories.run_queued_tasks()
                finally:
                    connection.close()

            threads = [threading.Thread(target=work) for _job in jobs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:  # SQLite holds one writer at a time: the two jobs run one after the other
            factories.run_queued_tasks()

        assert Counter(gateway.phones()) == dict.fromkeys(phones, 1)
        assert sorted(Notice.objects.values_list("phone", "status")) == [
            (phone, "sent") for phone in phones
        ]
        results = [Job.objects.get(pk=job.pk).result for job in jobs]
        assert sum(result["sent"] for result in results) == 12
        assert NoticePoint.objects.count() == 36

    def test_two_presses_at_once_queue_one_job(self, city, street):
        from refmeter.outages.tasks import outage_send_start

        target = outage(city, city.south_area)
        outcomes: list[str] = []
        parallel = connection.vendor == "postgresql"
        start = threading.Barrier(2 if parallel else 1)

        def work():
            try:
                start.wait()
                outage_send_start(
                    actor=city.south_admin, outage_id=target.pk, now=CLOCK, confirmed=True
                )
                outcomes.append("queued")
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

        job = Job.objects.get()
        assert sorted(outcomes) == [
            "queued",
            f"停电通知正在排队或发送中（任务 #{job.pk}），请勿重复提交。",
        ]
        assert DBTaskResult.objects.count() == 1

    def test_the_database_refuses_a_second_notice_to_the_same_phone(self, city, street):
        target = outage(city, city.south_area)
        fields = {"outage": target, "phone": PHONE_A, "message": "x", "created_at": CLOCK}
        Notice.objects.create(**fields)

        with pytest.raises(IntegrityError), transaction.atomic():
            Notice.objects.create(**fields, status=NoticeStatus.SENT)

        assert Notice.objects.count() == 1

    def test_without_an_sms_number_the_outage_contact_phone_is_used_and_without_both_none(
        self, city, street
    ):
        from refmeter.outages.tasks import outage_send_start

        a, b, _c = street
        Customer.objects.filter(pk=a.customer_id).update(
            sms_number="", outage_contact_phone="+86 138-0000-0001"
        )
        Customer.objects.filter(pk=b.customer_id).update(sms_number="", outage_contact_phone="")
        target = outage(city, city.south_area)

        outage_send_start(actor=city.south_admin, outage_id=target.pk, now=CLOCK, confirmed=True)
        factories.run_queued_tasks()

        assert statuses(target) == [("13800000001", "recorded", 1)]
        assert Job.objects.get().result["no_phone"] == 2


@pytest.mark.django_db(transaction=True)
class TestRetries:
    def test_a_failing_gateway_is_retried_with_back_off_until_it_succeeds(
        self, client, city, sender, street, gateway
    ):
        target = outage(city, city.south_area)
        client.force_login(sender)
        gateway.answers = [503, 503]

        with time_machine.travel(CLOCK, tick=False):
            press(client, target)
            factories.run_queued_tasks()
            after_failure = statuses(target)
            failed = Notice.objects.get(phone=PHONE_A)
            follow_up = Job.objects.order_by("pk").last()
            factories.run_queued_tasks()  # the retry is not due yet
            requests_before_due = len(gateway.received)
        with time_machine.travel(CLOCK + dt.timedelta(minutes=1), tick=False):
            factories.run_queued_tasks()

        assert after_failure == [(PHONE_A, "failed", 1), (PHONE_B, "failed", 1)]
        assert failed.next_attempt_at == CLOCK + dt.timedelta(minutes=1)
        assert failed.detail == '短信网关拒绝：HTTP 503 {"error": "busy"}'
        assert follow_up.parameters == {
            "outage_id": target.pk, "run_after": (CLOCK + dt.timedelta(minutes=1)).isoformat()
        }  # fmt: skip
        assert requests_before_due == 2
        assert gateway.phones() == [PHONE_A, PHONE_A, PHONE_B, PHONE_B]
        assert statuses(target) == [(PHONE_A, "sent", 2), (PHONE_B, "sent", 2)]
        assert Notice.objects.get(phone=PHONE_A).sent_at == CLOCK + dt.timedelta(minutes=1)
        assert Job.objects.count() == 2

    def test_retries_back_off_and_stop_after_five_attempts(self, city, street, gateway):
        from refmeter.outages.tasks import outage_send_start

        Customer.objects.filter(pk=street[1].customer_id).update(
            sms_number="", outage_contact_phone=""
        )
        target = outage(city, city.south_area)
        gateway.answers = [500] * 10
        moments = []

        clock = CLOCK
        with time_machine.travel(clock, tick=False):
            outage_send_start(
                actor=city.south_admin, outage_id=target.pk, now=clock, confirmed=True
            )
            factories.run_queued_tasks()
        for _ in range(5):
            notice = Notice.objects.get()
            moments.append(notice.next_attempt_at)
            if notice.next_attempt_at is None:
                break
            clock = notice.next_attempt_at
            with time_machine.travel(clock, tick=False):
                factories.run_queued_tasks()

        assert [moment - CLOCK if moment else None for moment in moments] == [
            dt.timedelta(minutes=1),
            dt.timedelta(minutes=6),
            dt.timedelta(minutes=21),
            dt.timedelta(minutes=81),
            None,
        ]
        assert statuses(target) == [(PHONE_A, "failed", 5)]
        assert len(gateway.received) == 5
        assert not Job.objects.filter(status=JobStatus.QUEUED).exists()

    def test_a_gateway_that_hangs_up_is_not_retried_since_the_sms_may_have_gone(
        self, city, street, gateway
    ):
        from refmeter.outages.tasks import outage_send_start

        target = outage(city, city.south_area)
        gateway.answers = [0, 0]

        with time_machine.travel(CLOCK, tick=False):
            outage_send_start(
                actor=city.south_admin, outage_id=target.pk, now=CLOCK, confirmed=True
            )
            factories.run_queued_tasks()

        assert statuses(target) == [(PHONE_A, "unknown", 1), (PHONE_B, "unknown", 1)]
        assert Notice.objects.get(phone=PHONE_A).next_attempt_at is None
        assert Notice.objects.get(phone=PHONE_A).detail.startswith(
            "短信网关未应答，不知道短信是否已发出："
        )
        assert Job.objects.count() == 1

    def test_a_crash_after_claiming_is_recorded_as_unknown_and_never_resent_by_itself(
        self, city, street, gateway
    ):
        from refmeter.outages.tasks import outage_send_start

        target = outage(city, city.south_area)
        notices_plan(actor=city.south_admin, outage_id=target.pk, now=CLOCK)
        # a worker claims A's notice, then dies before it can record the gateway's answer
        claimed = notices_claim(outage_id=target.pk, now=CLOCK, limit=1, backend="http")
        soon = CLOCK + dt.timedelta(minutes=5)
        with time_machine.travel(soon, tick=False):
            outage_send_start(actor=city.south_admin, outage_id=target.pk, now=soon, confirmed=True)
            factories.run_queued_tasks()
            while_it_may_still_be_sending = statuses(target)
        later = CLOCK + dt.timedelta(minutes=30)
        with time_machine.travel(later, tick=False):
            outage_send_start(
                actor=city.south_admin, outage_id=target.pk, now=later, confirmed=True
            )
            factories.run_queued_tasks()

        assert [notice.phone for notice in claimed] == [PHONE_A]
        assert while_it_may_still_be_sending == [(PHONE_A, "sending", 1), (PHONE_B, "sent", 1)]
        assert statuses(target) == [(PHONE_A, "unknown", 1), (PHONE_B, "sent", 1)]
        assert Notice.objects.get(phone=PHONE_A).detail == (
            "发送过程中断，不知道短信是否已发出；请核实后人工重发。"
        )
        assert gateway.phones() == [PHONE_B]
        assert Job.objects.order_by("pk").last().result["unknown"] == 1


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
class TestScale:
    def test_a_1437_point_outage_runs_as_a_job_in_batches(
        self, city, gateway, monkeypatch, django_assert_max_num_queries
    ):
        from refmeter.common.jobs import JobRun
        from refmeter.outages import tasks

        for index in range(15):  # 14 groups of 100 points and one of 37: 1,437 points
            customer = factories.customer(actor=city.south_admin, unit=city.south)
            Customer.objects.filter(pk=customer.pk).update(sms_number=f"1370000{index:04d}")
            factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                            sub_accounts=99 if index < 14 else 36, customer_record=customer)  # fmt: skip
        target = outage(city, city.south_area)
        reported = []
        real_progress = JobRun.progress

        def progress(run, **values):
            reported.append((values["done"], values["total"]))
            real_progress(run, **values)

        monkeypatch.setattr(tasks, "SEND_BATCH", 4)
        monkeypatch.setattr(JobRun, "progress", progress)
        tasks.outage_send_start(
            actor=city.south_admin, outage_id=target.pk, now=CLOCK, confirmed=True
        )

        # two queries per SMS and none per point: 1,437 points are linked by a few bulk inserts
        # (and up to four to find the template version, storing the default when none is)
        with django_assert_max_num_queries(134) as captured:
            factories.run_queued_tasks()

        links = [
            query
            for query in captured.captured_queries
            if query["sql"].startswith("INSERT") and "outages_noticepoint" in query["sql"]
        ]
        assert len(links) <= 6
        job = Job.objects.get()
        assert NoticePoint.objects.filter(outage=target).count() == 1437
        assert reported == [(0, 15), (4, 15), (8, 15), (12, 15), (15, 15)]
        assert (job.status, job.result["points"], job.result["sent"]) == (
            JobStatus.SUCCEEDED, 1437, 15,
        )  # fmt: skip
        assert len(gateway.received) == 15
        message = Notice.objects.get(phone="13700000000").message
        assert (
            "贵单位100个用电点受影响：越城区城南街道1幢、越城区城南街道0幢、越城区城南街道2幢等99处。"
            in (message)
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
