from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase, CaseStatus, ContactSheet
from refmeter.anomalies.services import anomalies_scan
from refmeter.organisations.models import Role
from tests import factories

NOW = dt.datetime(2026, 10, 10, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def stuck(city):
    group = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place,
        active_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    factories.readings(group, dt.date(2026, 10, 1), [50, 51, 52] + [52] * 7)
    anomalies_scan(as_of=dt.date(2026, 10, 10), now=NOW)
    return AnomalyCase.objects.get(group=group, kind="stopped")


class TestContactSheets:
    def test_collection_staff_send_a_sheet_and_inspectors_close_the_case_with_a_cause(
        self, client, city, stuck
    ):
        collector = factories.user(unit=city.south, role=Role.DATA_COLLECTION)
        inspector = factories.user(unit=city.south, role=Role.FIELD_STAFF)
        client.force_login(collector)
        client.post(reverse("anomalies:sheet_send", args=[stuck.pk]), {"request": "请现场核实表计"})
        client.force_login(inspector)

        page = client.post(
            reverse("anomalies:sheet_answer", args=[stuck.pk]),
            {"finding": "bypass", "found_on": "2026-10-12", "note": "负荷未接入表计"},
            follow=True,
        ).content.decode()

        sheet = ContactSheet.objects.get()
        stuck.refresh_from_db()
        assert sheet.number.startswith("LXD") and sheet.request == "请现场核实表计"
        assert (sheet.finding, sheet.found_on) == ("bypass", dt.date(2026, 10, 12))
        assert (stuck.status, stuck.cause) == (CaseStatus.CLOSED, "bypass")
        assert "核查结论已记录，异常已办结。" in page

    def test_the_wrong_role_is_refused_and_nothing_changes(self, client, city, stuck):
        client.force_login(city.south_clerk)

        page = client.post(
            reverse("anomalies:sheet_send", args=[stuck.pk]), {"request": "x"}, follow=True
        ).content.decode()

        assert "只有采集运维人员可以发出联系单。" in page
        assert ContactSheet.objects.count() == 0

    def test_another_units_staff_cannot_see_the_case(self, client, city, stuck):
        client.force_login(city.north_admin)

        assert client.get(reverse("anomalies:case", args=[stuck.pk])).status_code == 404


class TestPages:
    def test_the_case_list_costs_the_same_queries_for_few_or_many_cases(self, client, city, stuck):
        client.force_login(city.south_admin)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("anomalies:list"))
        for _index in range(7):
            group = factories.group(
                actor=city.south_admin, unit=city.south, place=city.south_place,
                active_from=dt.date(2026, 1, 1),
            )  # fmt: skip
            factories.readings(group, dt.date(2026, 10, 1), [70] * 10)
        anomalies_scan(as_of=dt.date(2026, 10, 10), now=NOW)

        with CaptureQueriesContext(connection) as many:
            response = client.get(reverse("anomalies:list"))

        assert (
            len(response.context["rows"]) == AnomalyCase.objects.filter(status="open").count() >= 8
        )
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_the_meter_page_carries_the_chart_data_and_the_vendored_library(
        self, client, city, stuck
    ):
        client.force_login(city.south_admin)

        html = client.get(reverse("anomalies:meter", args=[stuck.group_id])).content.decode()

        assert "/static/vendor/uplot/uPlot.iife.min.js" in html
        assert '"kind": "stopped", "since": "2026-10-04"' in html


class TestSheetsByAge:
    def test_cases_with_unanswered_sheets_are_listed_oldest_first(self, client, city, stuck):
        collector = factories.user(unit=city.south, role=Role.DATA_COLLECTION)
        client.force_login(collector)
        client.post(reverse("anomalies:sheet_send", args=[stuck.pk]), {"request": "核实"})

        rows = client.get(reverse("anomalies:list"), {"status": "sheet_pending"}).context["rows"]

        assert [(row.case_id, row.sheet_number[:3], row.sheet_answered) for row in rows] == [
            (stuck.pk, "LXD", False)
        ]


class TestPrintedContactSheet:
    def pdf_text(self, data: bytes) -> str:
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        text = " ".join(page.get_textpage().get_text_range() for page in document)
        document.close()
        return " ".join(text.split())

    def test_it_carries_the_case_the_request_the_chart_and_room_for_the_finding(
        self, client, city, stuck
    ):
        client.force_login(factories.user(unit=city.south, role=Role.DATA_COLLECTION))
        client.post(reverse("anomalies:sheet_send", args=[stuck.pk]), {"request": "请现场核实表计"})
        sheet = ContactSheet.objects.get()

        response = client.get(reverse("anomalies:sheet_print", args=[stuck.pk]))

        assert response["Content-Type"] == "application/pdf"
        text = self.pdf_text(response.content)
        for expected in (
            "计量异常联系单", sheet.number, stuck.meter_asset_number, "异常类型 停走",
            "请现场核实表计", "参考表最近 30 天日电量", "10-02", "10-09", "□ 窃电",
            "检查人员签字", "客户签字",
        ):  # fmt: skip
            assert expected in text, expected

    def test_an_answered_sheet_prints_the_finding(self, client, city, stuck):
        client.force_login(factories.user(unit=city.south, role=Role.DATA_COLLECTION))
        client.post(reverse("anomalies:sheet_send", args=[stuck.pk]), {"request": "请现场核实表计"})
        client.force_login(factories.user(unit=city.south, role=Role.FIELD_STAFF))
        client.post(
            reverse("anomalies:sheet_answer", args=[stuck.pk]),
            {"finding": "bypass", "found_on": "2026-10-12", "note": "负荷未接入表计"},
        )

        text = self.pdf_text(client.get(reverse("anomalies:sheet_print", args=[stuck.pk])).content)

        assert "绕越计量（负荷未接入表计） 核查日期 2026-10-12" in text
        assert "□ 窃电" not in text

    def test_a_case_without_a_sheet_has_none_to_print(self, client, city, stuck):
        client.force_login(factories.user(unit=city.south, role=Role.DATA_COLLECTION))

        response = client.get(reverse("anomalies:sheet_print", args=[stuck.pk]))

        assert response.status_code == 404
        assert "该异常还没有发出联系单。" in response.content.decode()
