from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest
from django.urls import reverse

from refmeter.anomalies.models import AnomalyCase
from refmeter.inspections.models import FollowUp, InspectionTarget
from refmeter.inspections.services import (
    UnableToRecordInspection,
    inspection_plan_create,
    inspection_result_record,
)
from refmeter.organisations.models import Role
from refmeter.registry.models import Point, PointKind
from refmeter.workorders.models import OrderKind, Step, WorkOrder
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
START = dt.date(2026, 7, 1)


@pytest.fixture
def customers(city):
    """Two customers: 23 points in two groups over two areas, and 7 points in one group."""
    first = factories.customer(actor=city.south_admin, unit=city.south, name="中国电信")
    second = factories.customer(actor=city.south_admin, unit=city.south, name="交警支队")
    for place, subs in ((city.south_place, 11), (city.south_other_place, 9)):
        factories.group(actor=city.south_admin, unit=city.south, place=place, sub_accounts=subs,
                        active_from=dt.date(2026, 1, 1), customer_record=first)  # fmt: skip
    factories.group(actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=6,
                    active_from=dt.date(2026, 1, 1), customer_record=second)  # fmt: skip
    return first, second


@pytest.fixture
def field(city):
    return factories.user(unit=city.south, role=Role.FIELD_STAFF, username="inspector")


class TestSampling:
    def test_at_least_a_fifth_of_each_customers_points_every_stratum_represented(
        self, city, customers, field
    ):
        plan = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=42
        )

        targets = InspectionTarget.objects.filter(plan=plan)
        by_customer = Counter(targets.values_list("customer_id", flat=True))
        first, second = customers
        # 12 + 10 points: ceil(12/5) + ceil(10/5) = 3 + 2; 7 points: ceil(7/5) = 2
        assert by_customer == {first.pk: 5, second.pk: 2}
        assert by_customer[first.pk] >= math.ceil(22 / 5)
        assert len(set(targets.values_list("group_id", flat=True))) == 3
        assert plan.period_end == dt.date(2027, 1, 1)

    def test_the_same_seed_draws_the_same_sample_and_another_seed_may_not(
        self, city, customers, field
    ):
        one = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=7
        )
        two = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=7
        )
        other = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=8
        )

        def sample(plan):
            return sorted(plan.targets.values_list("point_id", flat=True))

        assert sample(one) == sample(two)
        assert sample(one) != sample(other)


class TestFindings:
    def test_a_missing_seal_raises_a_theft_case(self, city, customers, field):
        point = Point.objects.filter(kind=PointKind.SUB).first()

        result = inspection_result_record(
            actor=field, point_id=point.pk, finding="seal_missing", note="电缆封印扣缺失", now=NOW
        )

        case = AnomalyCase.objects.get(kind="theft")
        assert (case.account_number, case.group_id) == (point.account_number, point.group_id)
        assert list(FollowUp.objects.filter(result=result).values_list("kind", "reference")) == [
            ("theft_case", str(case.pk))
        ]

    def test_a_missing_point_starts_a_change_order(self, city, customers, field):
        point = Point.objects.filter(kind=PointKind.SUB).first()

        inspection_result_record(
            actor=field, point_id=point.pk, finding="point_missing", note="", now=NOW
        )

        order = WorkOrder.objects.get()
        assert (order.kind, order.step, order.group_id) == (
            OrderKind.CHANGE,
            Step.ACCEPTANCE,
            point.group_id,
        )
        assert f"点位 {point.account_number}" in order.note

    def test_unregistered_points_start_a_change_order_and_a_multiplier_mismatch_case(
        self, city, customers, field
    ):
        point = Point.objects.filter(kind=PointKind.SUB).first()

        result = inspection_result_record(
            actor=field, point_id=point.pk, finding="unregistered", note="",
            found_location="56幢2单元楼道", found_count=2, now=NOW,
        )  # fmt: skip

        case = AnomalyCase.objects.get(kind="multiplier")
        assert case.evidence["unregistered_points"] == 2
        assert sorted(FollowUp.objects.filter(result=result).values_list("kind", flat=True)) == [
            "change_order",
            "multiplier_case",
        ]
        assert "在 56幢2单元楼道 发现 2 个未登记点位" in WorkOrder.objects.get().note

    def test_an_unregistered_finding_needs_where_and_how_many(self, city, customers, field):
        point = Point.objects.filter(kind=PointKind.SUB).first()

        with pytest.raises(UnableToRecordInspection):
            inspection_result_record(
                actor=field, point_id=point.pk, finding="unregistered", note="", now=NOW
            )

        assert not WorkOrder.objects.exists()

    def test_a_finding_counts_for_the_open_plan(self, city, customers, field):
        plan = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=1
        )
        target = plan.targets.first()

        inspection_result_record(
            actor=field, point_id=target.point_id, finding="sealed", note="", now=NOW
        )

        target.refresh_from_db()
        assert target.result is not None and target.result.finding == "sealed"


class TestRouteSheet:
    @staticmethod
    def read(data: bytes) -> tuple[str, list[str]]:
        import cv2
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        text, codes = [], []
        detector = cv2.QRCodeDetectorAruco()
        for page in document:
            text.append(page.get_textpage().get_text_range())
            image = page.render(scale=300 / 72).to_numpy()
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            found, decoded, _points, _straight = detector.detectAndDecodeMulti(gray)
            codes += [code for code in decoded if code] if found else []
        document.close()
        return " ".join(" ".join(text).split()), codes

    def test_the_points_to_inspect_grouped_by_area_with_codes_that_open_them(
        self, client, settings, city, customers, field
    ):
        settings.REFMETER_LABEL_BASE_URL = "https://refmeter.example"
        plan = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=7
        )
        targets = list(InspectionTarget.objects.filter(plan=plan).select_related("point__area"))
        done = targets[0]
        inspection_result_record(
            actor=field, point_id=done.point_id, finding="sealed", note="", now=NOW
        )
        pending = [target for target in targets if target.pk != done.pk]
        client.force_login(field)

        response = client.get(reverse("inspections:plan_route", args=[plan.pk]))

        assert response["Content-Type"] == "application/pdf"
        text, codes = self.read(response.content)
        assert "周期检查路线单" in text
        assert f"待检查点位 {len(pending)}" in text
        for area in {target.point.area.number for target in pending}:
            assert f"台区 {area}" in text
        assert all(target.point.account_number in text for target in pending)
        assert done.point.account_number not in text
        assert sorted(codes) == sorted(
            f"https://refmeter.example/points/{target.point_id}/" for target in pending
        )

    def test_one_area_only(self, client, city, customers, field):
        plan = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=7
        )
        targets = list(InspectionTarget.objects.filter(plan=plan).select_related("point__area"))
        area = targets[0].point.area.number
        client.force_login(field)

        response = client.get(reverse("inspections:plan_route", args=[plan.pk]), {"area": area})

        text, _codes = self.read(response.content)
        for target in targets:
            assert (target.point.account_number in text) == (target.point.area.number == area)

    def test_another_units_plan_is_not_printed(self, client, city, customers, field):
        plan = inspection_plan_create(
            actor=field, unit=city.south, period_start=START, now=NOW, seed=7
        )
        client.force_login(factories.user(unit=city.north, role=Role.FIELD_STAFF))

        response = client.get(reverse("inspections:plan_route", args=[plan.pk]))

        assert response.status_code == 404
