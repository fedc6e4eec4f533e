"""Sending outage notices: a background job, one SMS per phone, retries, scale."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django_tasks_db.models import DBTaskResult

from refmeter.common.models import Job, JobStatus
from refmeter.organisations.models import Role
from refmeter.outages.models import Notice, NoticePoint, NoticeStatus
from refmeter.outages.services import (
    UnableToSendNotices,
    notices_claim,
    notices_plan,
)
from refmeter.registry.models import Customer
from tests import factories
from tests.outages.sending import (
    CLOCK,
    PHONE_A,
    PHONE_B,
    outage,
    press,
    statuses,
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
