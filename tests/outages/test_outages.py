from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from refmeter.common.models import Job
from refmeter.outages.models import Notice, OutageKind
from refmeter.outages.selectors import affected_points, notice_message, notice_shortfall
from refmeter.outages.services import UnableToPlanOutage, notices_plan, outage_create
from refmeter.outages.sms import Delivery, HttpGateway, sms_phone
from refmeter.outages.texts import DEFAULT_TEMPLATE, addresses_text, window_text
from refmeter.registry.models import PointKind
from refmeter.registry.services import point_update, sub_account_cancel
from tests import factories

NOW = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 11, 10, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shaoxing
END = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def town(city):
    """Group A in area 0001 (3 points, one cancelled in October); group B in area 0002
    (2 points); group C in the north. One of A's points moves to area 0002 on 5 November."""
    a = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                        sub_accounts=3, active_from=dt.date(2026, 1, 1))  # fmt: skip
    b = factories.group(actor=city.south_admin, unit=city.south, place=city.south_other_place,
                        sub_accounts=1, active_from=dt.date(2026, 1, 1))  # fmt: skip
    factories.group(actor=city.north_admin, unit=city.north, place=city.north_place,
                    sub_accounts=2, active_from=dt.date(2026, 1, 1))  # fmt: skip
    subs = list(a.points.filter(kind=PointKind.SUB).order_by("account_number"))
    sub_account_cancel(actor=city.south_admin, point_id=subs[0].pk,
                       active_to_date=dt.date(2026, 10, 20), now=NOW)  # fmt: skip
    point_update(actor=city.south_admin, point_id=subs[1].pk, now=NOW, reason="迁移",
                 access_point_number=city.south_other_place.number,
                 effective_date=dt.date(2026, 11, 5))  # fmt: skip
    return a, b, subs


def plan(city, *areas, kind=OutageKind.PLANNED, starts_at=START):
    return outage_create(
        actor=city.south_admin,
        unit=city.south,
        kind=kind,
        starts_at=starts_at,
        ends_at=END,
        reason="线路检修",
        area_numbers=[area.number for area in areas],
        access_point_numbers=[],
        now=NOW,
    )


class TestAffectedPoints:
    def test_exactly_the_points_active_in_the_areas_on_the_day(self, city, town):
        a, _b, subs = town

        first_area = {p.account_number for p in affected_points(outage=plan(city, city.south_area))}
        both = {
            p.account_number
            for p in affected_points(outage=plan(city, city.south_area, city.south_other_area))
        }

        base_a = a.points.get(kind=PointKind.BASE).account_number
        # area 0001: A's base and its third point; not the cancelled one, not the moved one
        assert first_area == {base_a, subs[2].account_number}
        assert len(both) == 5  # + the moved point and group B's two
        assert subs[0].account_number not in both


class TestNotices:
    def test_the_points_reached_on_one_number_share_one_notice(self, city, town):
        outage = plan(city, city.south_area, city.south_other_area)

        first = notices_plan(actor=city.south_admin, outage_id=outage.pk, now=NOW)
        again = notices_plan(actor=city.south_admin, outage_id=outage.pk, now=NOW)

        # no SMS numbers: every customer's outage contact phone is 13800000000
        assert (first.notices, first.points, again.notices, again.already) == (1, 5, 0, 5)
        notice = Notice.objects.get()
        assert (notice.phone, notice.status, notice.points.count()) == ("13800000000", "pending", 5)
        # two customers on one number: it names none; five points at three distinct addresses
        assert notice.message == (
            "【供电公司】尊敬的客户：因线路检修，11月10日 08:30 至 17:00停电，贵单位5个用电点受影响："
            "越城区城南街道1幢、越城区城南街道2幢、越城区城南街道0幢。请提前做好准备。"
        )
        assert notice.template.version == 1

    def test_the_http_gateway_posts_the_notice_and_keeps_its_answer(self, settings):
        received = []

        class Gateway(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Gateway)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        settings.REFMETER_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/sms"

        delivery = HttpGateway().send(phone="13905750000", message="停电", reference="outage-1")
        server.shutdown()
        server.server_close()

        assert delivery == Delivery("sent", '{"ok": true}')
        assert received == [{"phone": "13905750000", "message": "停电", "reference": "outage-1"}]

    def test_a_gateway_that_cannot_be_reached_is_a_failure_to_retry(self, settings):
        server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        settings.REFMETER_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/sms"
        server.server_close()  # nothing listens there any more

        delivery = HttpGateway().send(phone="13905750000", message="停电")

        assert delivery.status == "failed"
        assert delivery.detail.startswith("无法连接短信网关：")

    def test_phone_numbers_are_compared_as_digits(self):
        assert [sms_phone(text) for text in ("+86 139-0575-0000", "１３９０５７５００００", "")] == [
            "13905750000", "13905750000", "",
        ]  # fmt: skip


class TestTheNoticeText:
    def test_names_the_window_the_customer_the_count_and_the_first_three_addresses(self, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                sub_accounts=5)  # fmt: skip
        outage = plan(city, city.south_area)

        notices_plan(actor=city.south_admin, outage_id=outage.pk, now=NOW)

        # six points: the base account at 1幢 and sub-accounts at 0幢 to 4幢, five addresses
        assert Notice.objects.get().message == (
            f"【供电公司】尊敬的{group.customer.name}：因线路检修，11月10日 08:30 至 17:00停电，"
            "贵单位6个用电点受影响：越城区城南街道1幢、越城区城南街道0幢、越城区城南街道2幢等5处。"
            "请提前做好准备。"
        )

    def test_an_outage_over_midnight_names_both_days(self):
        start = dt.datetime(2026, 11, 10, 22, 0)
        end = dt.datetime(2026, 11, 11, 6, 30)

        assert window_text(start, end) == "11月10日 22:00 至 11月11日 06:30"

    def test_one_address_needs_no_more(self):
        assert (
            addresses_text(["越城区城南街道1幢", " 越城区城南街道1幢 ", ""]) == "越城区城南街道1幢"
        )

    def test_is_the_same_in_either_language_of_the_page(self, city, settings):
        from django.utils import translation

        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                        sub_accounts=4)  # fmt: skip
        outage = plan(city, city.south_area)
        points = affected_points(outage=outage)

        texts = set()
        for language in ("zh-hans", "en"):
            with translation.override(language):
                texts.add(notice_message(outage=outage, points=points, template=DEFAULT_TEMPLATE))

        # the English catalog translates these pieces; the SMS still goes out in Chinese
        assert len(texts) == 1
        assert "11月10日 08:30 至 17:00停电" in texts.pop()


class TestRules:
    def test_less_than_7_days_for_a_planned_outage_is_flagged(self, city, town):
        outage = plan(city, city.south_area, starts_at=NOW + dt.timedelta(days=5))

        assert notice_shortfall(outage=outage, now=NOW) == dt.timedelta(days=2)

    def test_24_hours_is_enough_for_temporary_maintenance(self, city, town):
        outage = plan(city, city.south_area, kind=OutageKind.TEMPORARY,
                      starts_at=NOW + dt.timedelta(hours=30))  # fmt: skip

        assert notice_shortfall(outage=outage, now=NOW) is None

    def test_an_area_of_another_unit_is_refused(self, city, town):
        with pytest.raises(UnableToPlanOutage) as refusal:
            plan(city, city.north_area)

        assert refusal.value.problems[0] == (
            f"这些台区或接入点不存在或不属于您的单位：{city.north_area.number}"
        )


class TestPages:
    def test_an_outage_is_entered_its_points_listed_exported_and_notified(self, client, city, town):
        import io

        import openpyxl
        from django.urls import reverse

        client.force_login(city.south_admin)

        response = client.post(
            reverse("outages:list"),
            {"kind": "planned", "unit": city.south.pk, "starts_at": "2026-12-20T08:30",
             "ends_at": "2026-12-20T17:00", "areas": f"{city.south_area.number}，",
             "access_points": "", "reason": "配变增容"},
        )  # fmt: skip
        detail = client.get(response["Location"]).content.decode()
        export = client.get(response["Location"] + "points.xlsx")
        sent = client.post(
            response["Location"] + "send/", {"confirm": "1"}, follow=True
        ).content.decode()
        job = Job.objects.get()

        assert "受影响的用电点 2 个" in detail
        sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
        assert sheet.max_row == 3
        assert f"已提交发送任务 #{job.pk}，进度见下方。" in sent
        assert (job.kind, job.status, job.parameters) == (
            "outage_notify", "queued",
            {"outage_id": int(response["Location"].split("/")[-2]), "template_version": 1},
        )  # fmt: skip


class TestNoticeLetters:
    @staticmethod
    def pages(data: bytes) -> list[str]:
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        pages = [" ".join(page.get_textpage().get_text_range().split()) for page in document]
        document.close()
        return pages

    def test_one_letter_per_customer_listing_its_affected_points(self, client, city, town):
        a, b, _subs = town
        outage = plan(city, city.south_area, city.south_other_area)
        client.force_login(city.south_admin)

        response = client.get(reverse("outages:letters", args=[outage.pk]))

        pages = self.pages(response.content)
        assert response["Content-Type"] == "application/pdf"
        assert len(pages) == 2
        for page, group in zip(pages, sorted((a, b), key=lambda g: g.customer.name), strict=True):
            affected = {p.account_number for p in affected_points(outage=outage)}
            own = {p.account_number for p in group.points.all()} & affected
            assert "停电通知书" in page and f"致：{group.customer.name}" in page
            assert "2026-11-10 08:30 至 2026-11-10 17:00" in page and "线路检修" in page
            assert f"下列 {len(own)} 个用电点" in page
            assert all(number in page for number in own)
            assert not any(number in page for number in affected - own)

    def test_one_customers_letter(self, client, city, town):
        _a, b, _subs = town
        outage = plan(city, city.south_area, city.south_other_area)
        client.force_login(city.south_admin)

        response = client.get(
            reverse("outages:letters", args=[outage.pk]), {"customer": b.customer_id}
        )

        pages = self.pages(response.content)
        assert len(pages) == 1 and f"致：{b.customer.name}" in pages[0]
