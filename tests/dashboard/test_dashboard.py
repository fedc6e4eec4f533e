from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refmeter.anomalies.models import AnomalyCase
from refmeter.outages.models import OutageKind
from refmeter.outages.services import outage_create
from refmeter.workorders import services as orders
from refmeter.workorders.models import Step, WorkOrder
from tests import factories


class TestDashboard:
    def test_shows_points_work_cases_and_pending_notices(self, client, city):
        today = timezone.localdate()
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                sub_accounts=4, active_from=today - dt.timedelta(days=60))  # fmt: skip
        order = orders.order_group_start(actor=city.south_admin, group_id=group.pk, kind="change",
                                         application=orders.Application(), now=timezone.now())  # fmt: skip
        WorkOrder.objects.filter(pk=order.pk).update(
            step=Step.ARCHIVE, archive_due_date=today - dt.timedelta(days=3)
        )
        AnomalyCase.objects.create(group=group, meter_asset_number=group.meter_asset_number, kind="stopped",
                                   condition_since=today, raised_on=today, last_seen_on=today)  # fmt: skip
        outage_create(actor=city.south_admin, unit=city.south, kind=OutageKind.PLANNED,
                      starts_at=timezone.now() + dt.timedelta(days=10),
                      ends_at=timezone.now() + dt.timedelta(days=10, hours=6), reason="检修",
                      area_numbers=[city.south_area.number], access_point_numbers=[], now=timezone.now())  # fmt: skip
        client.force_login(city.south_admin)

        page = client.get(reverse("dashboard")).content.decode()

        assert '<small data-testid="points-total">5</small>' in page
        assert '<strong data-testid="archives-overdue">1</strong>' in page
        assert "停走" in page
        assert "0 / 5" in page  # the outage's notices: none of 5 sent yet

    def test_another_unit_sees_none_of_it(self, client, city):
        factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=2
        )
        client.force_login(city.north_admin)

        with CaptureQueriesContext(connection):
            page = client.get(reverse("dashboard")).content.decode()

        assert '<small data-testid="points-total">0</small>' in page
