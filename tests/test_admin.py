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


class TestAdminWords:
    def test_every_section_and_list_of_the_admin_has_a_chinese_name(self, client, city):
        import re

        chinese = re.compile(r"[\u4e00-\u9fff]")
        city.admin.is_staff = city.admin.is_superuser = True
        city.admin.save()
        client.force_login(city.admin)

        app_list = client.get(reverse("admin:index")).context["app_list"]

        names = [section["name"] for section in app_list] + [
            model["name"] for section in app_list for model in section["models"]
        ]
        assert len(names) > 30
        assert [name for name in names if not chinese.search(str(name))] == []
