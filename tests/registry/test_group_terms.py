"""A group's CT ratio and tariff code change from a date, and the history stays."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.organisations.models import Role
from refmeter.registry.models import Group, GroupTerms
from tests import factories


def terms(group):
    return list(
        GroupTerms.objects.filter(group=group).values_list("from_date", "ct_ratio", "tariff_code")
    )


class TestGroupTermsPage:
    def test_a_customer_manager_changes_the_ct_ratio_from_a_date(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        client.force_login(factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER))

        response = client.post(
            reverse("registry:group_terms", args=[group.pk]),
            {
                "ct_ratio": "40",
                "tariff_code": "",
                "from_date": "2026-06-16",
                "reason": "更换互感器",
            },
            follow=True,
        )

        assert "已记录，自执行日期起生效。" in response.content.decode()
        assert terms(group) == [(dt.date(2026, 1, 1), 1, ""), (dt.date(2026, 6, 16), 40, "")]
        assert Group.objects.get(pk=group.pk).ct_ratio == 40
        entry = AuditEntry.objects.filter(action="group.update").get()
        assert (entry.before, entry.after, entry.reason) == (
            {"ct_ratio": "1"},
            {"ct_ratio": "40", "terms_from_date": "2026-06-16"},
            "更换互感器",
        )

    def test_a_date_before_the_group_existed_is_refused_and_nothing_changes(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        client.force_login(city.south_admin)

        page = client.post(
            reverse("registry:group_terms", args=[group.pk]),
            {"ct_ratio": "40", "tariff_code": "", "from_date": "2025-12-01", "reason": "补录"},
        ).content.decode()

        assert "执行日期不能早于立户日期 2026-01-01。" in page
        assert terms(group) == [(dt.date(2026, 1, 1), 1, "")]

    def test_a_clerk_may_not_change_the_terms(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        client.force_login(city.south_clerk)

        response = client.post(
            reverse("registry:group_terms", args=[group.pk]),
            {"ct_ratio": "40", "from_date": "2026-06-16", "reason": "x"},
        )

        assert response.status_code == 403
        assert terms(group) == [(dt.date(2020, 1, 1), 1, "")]

    def test_another_units_group_is_not_found(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        client.force_login(city.north_admin)

        response = client.get(reverse("registry:group_terms", args=[group.pk]))

        assert response.status_code == 404

    def test_the_group_page_shows_the_history(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        factories.group_terms(group, actor=city.south_admin, from_date=dt.date(2026, 3, 1),
                              ct_ratio=5)  # fmt: skip
        client.force_login(city.south_admin)

        page = client.get(reverse("registry:group_detail", args=[group.pk])).content.decode()

        assert 'data-testid="terms-history"' in page
        assert '<td>2026-01-01</td><td>2026-03-01</td><td class="num">1</td>' in page


class TestDatedChanges:
    def test_a_date_after_today_is_refused(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        client.force_login(city.south_admin)

        page = client.post(
            reverse("registry:group_terms", args=[group.pk]),
            {"ct_ratio": "40", "tariff_code": "", "from_date": "2099-01-01", "reason": "预登记",
             "version": group.version},
        ).content.decode()  # fmt: skip

        assert "执行日期不能晚于今天" in page
        assert terms(group) == [(dt.date(2026, 1, 1), 1, "")]

    def test_a_back_dated_change_is_compared_with_what_held_on_its_date(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place,
                                active_from=dt.date(2026, 1, 1))  # fmt: skip
        factories.group_terms(group, actor=city.south_admin, from_date=dt.date(2026, 6, 1),
                              ct_ratio=40)  # fmt: skip
        group.refresh_from_db()
        client.force_login(city.south_admin)

        client.post(
            reverse("registry:group_terms", args=[group.pk]),
            {"ct_ratio": "40", "tariff_code": "", "from_date": "2026-05-15", "reason": "补录换表",
             "version": group.version},
        )  # fmt: skip

        assert terms(group) == [
            (dt.date(2026, 1, 1), 1, ""),
            (dt.date(2026, 5, 15), 40, ""),
            (dt.date(2026, 6, 1), 40, ""),
        ]
