from __future__ import annotations

from django.contrib import admin
from django.urls import reverse


class TestAdmin:
    def test_every_registered_list_opens_for_an_administrator(self, client, city):
        city.admin.is_staff = city.admin.is_superuser = True
        city.admin.save()
        client.force_login(city.admin)

        statuses = {
            model._meta.label: client.get(
                reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            ).status_code
            for model in admin.site._registry
        }

        assert set(statuses.values()) == {200}, statuses
        assert "anomalies.AnomalyRule" in statuses and "billing.Tariff" in statuses
