"""Irreversible actions ask first, and the server holds to the answer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from refmeter.common.models import Job
from refmeter.labels.models import Label
from tests import factories


@pytest.mark.django_db(transaction=True)
class TestAReprintVoidsLabelsOnlyWhenConfirmed:
    def print_once(self, client, group):
        client.post(
            reverse("labels:print"), {"source": "group", "id": group.pk, "layout": "a4-3x8"}
        )
        factories.run_queued_tasks()

    def test_a_first_print_needs_no_confirmation(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                sub_accounts=2)  # fmt: skip
        client.force_login(city.south_clerk)

        self.print_once(client, group)

        assert Label.objects.filter(voided_at__isnull=True).count() == 3

    def test_a_reprint_without_the_tick_is_refused_and_voids_nothing(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                sub_accounts=2)  # fmt: skip
        client.force_login(city.south_clerk)
        self.print_once(client, group)
        jobs = Job.objects.count()

        form = client.get(reverse("labels:print"), {"source": "group", "id": group.pk})
        refused = client.post(
            reverse("labels:print"), {"source": "group", "id": group.pk, "layout": "a4-3x8"}
        )
        factories.run_queued_tasks()

        assert "我已知晓：3 张在用的标签将作废" in form.content.decode()
        assert refused.status_code == 400
        assert "打印将作废 3 张在用的标签，请勾选确认后再打印。" in refused.content.decode()
        assert Job.objects.count() == jobs
        assert Label.objects.filter(voided_at__isnull=True).count() == 3
        assert Label.objects.count() == 3

    def test_a_reprint_with_the_tick_voids_the_old_labels(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                sub_accounts=2)  # fmt: skip
        client.force_login(city.south_clerk)
        self.print_once(client, group)

        client.post(reverse("labels:print"), {"source": "group", "id": group.pk,
                                              "layout": "a4-3x8", "confirm_void": "on"})  # fmt: skip
        factories.run_queued_tasks()

        assert Label.objects.count() == 6
        assert Label.objects.filter(voided_at__isnull=True).count() == 3
