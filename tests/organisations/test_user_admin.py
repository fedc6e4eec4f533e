"""User administration by unit administrators: scoping and grant refusals, confirmations,
the forced change of password, the one-time link, token revocation, the list's queries."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from refmeter.audit.models import AuditEntry
from refmeter.organisations.models import ApiToken, Role, User
from refmeter.organisations.services import api_token_create
from refmeter.organisations.services.users import (
    UnableToManageUser,
    api_token_revoke,
    user_activation_link,
    user_add,
    user_deactivate,
    user_password_reset,
    user_role_change,
)
from tests import factories

NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)


def _add(actor, unit, role=Role.CLERK, username="u1"):
    return user_add(actor=actor, username=username, full_name="王五", unit=unit, role=role,
                    phone="13800000001", now=NOW)  # fmt: skip


class TestCreating:
    def test_a_new_user_is_inactive_without_a_password_and_audited(self, city):
        created = _add(city.south_admin, city.south)

        created.refresh_from_db()
        assert (created.is_active, created.has_usable_password(), created.role) == (
            False,
            False,
            Role.CLERK,
        )
        entry = AuditEntry.objects.get(action="user.create", subject_id=created.pk)
        assert entry.after["unit"] == "3350101"

    @pytest.mark.parametrize("unit, role", [
        ("north", Role.CLERK),  # a sibling unit
        ("company", Role.CLERK),  # the parent unit
        ("south", Role.ADMINISTRATOR),  # a peer administrator
    ])  # fmt: skip
    def test_an_administrator_may_not_grant_outside_their_reach(self, city, unit, role):
        with pytest.raises(UnableToManageUser) as refused:
            _add(city.south_admin, getattr(city, unit), role=role)

        assert "您不能在" in str(refused.value)
        assert not User.objects.filter(username="u1").exists()

    def test_the_company_administrator_may_make_a_service_area_administrator(self, city):
        created = _add(city.admin, city.south, role=Role.ADMINISTRATOR)

        assert created.role == Role.ADMINISTRATOR


class TestChanging:
    def test_a_sibling_units_user_cannot_be_touched(self, city):
        with pytest.raises(UnableToManageUser) as refused:
            user_deactivate(actor=city.south_admin, user_id=city.north_clerk.pk, confirmed=True,
                            now=NOW)  # fmt: skip

        assert "不属于您所在单位" in str(refused.value)
        assert User.objects.get(pk=city.north_clerk.pk).is_active

    def test_a_role_is_not_raised_to_administrator_in_ones_own_unit(self, city):
        with pytest.raises(UnableToManageUser):
            user_role_change(actor=city.south_admin, user_id=city.south_clerk.pk,
                             role=Role.ADMINISTRATOR, now=NOW)  # fmt: skip

        assert User.objects.get(pk=city.south_clerk.pk).role == Role.CLERK

    def test_a_role_change_is_audited(self, city):
        user_role_change(actor=city.south_admin, user_id=city.south_clerk.pk,
                         role=Role.BILLING, now=NOW)  # fmt: skip

        assert User.objects.get(pk=city.south_clerk.pk).role == Role.BILLING
        entry = AuditEntry.objects.get(action="user.role")
        assert (entry.before, entry.after) == ({"role": "clerk"}, {"role": "billing"})

    def test_deactivating_needs_confirmation(self, city):
        with pytest.raises(UnableToManageUser) as refused:
            user_deactivate(actor=city.south_admin, user_id=city.south_clerk.pk, confirmed=False,
                            now=NOW)  # fmt: skip

        assert str(refused.value) == "请勾选确认后再执行此操作。"
        assert User.objects.get(pk=city.south_clerk.pk).is_active

    def test_a_deactivated_user_cannot_log_in(self, client, city):
        user_deactivate(actor=city.south_admin, user_id=city.south_clerk.pk, confirmed=True,
                        now=NOW)  # fmt: skip

        answer = client.post(reverse("login"), {"username": "south_clerk",
                                                "password": "correct-horse-battery"})  # fmt: skip

        assert answer.status_code == 200
        assert "_auth_user_id" not in client.session

    def test_a_superuser_cannot_be_touched_by_an_administrator(self, city):
        root = User.objects.create_superuser("root", password="x-very-long-password")
        root.unit = city.south
        root.save()

        with pytest.raises(UnableToManageUser):
            user_password_reset(actor=city.admin, user_id=root.pk, confirmed=True, now=NOW)


class TestPasswords:
    def test_a_reset_password_logs_in_and_forces_a_change_first(self, client, city):
        password = user_password_reset(actor=city.south_admin, user_id=city.south_clerk.pk,
                                       confirmed=True, now=NOW)  # fmt: skip
        logged_in = client.post(reverse("login"), {"username": "south_clerk", "password": password})
        assert logged_in.status_code == 302

        elsewhere = client.get(reverse("workorders:list"))
        changed = client.post(reverse("organisations:password_change"), {
            "old_password": password, "new_password1": "a-new-long-secret-9",
            "new_password2": "a-new-long-secret-9",
        })  # fmt: skip
        after = client.get(reverse("workorders:list"))

        assert elsewhere.status_code == 302
        assert elsewhere["Location"].startswith(reverse("organisations:password_change"))
        assert changed.status_code == 302
        assert after.status_code == 200
        assert not User.objects.get(pk=city.south_clerk.pk).must_change_password

    def test_the_one_time_link_sets_the_first_password_once(self, client, city):
        created = _add(city.south_admin, city.south)
        uid, token = user_activation_link(actor=city.south_admin, user_id=created.pk, now=NOW)
        url = reverse("organisations:activate", args=[uid, token])

        weak = client.post(url, {"new_password1": "123", "new_password2": "123"})
        done = client.post(
            url, {"new_password1": "a-long-secret-77", "new_password2": "a-long-secret-77"}
        )
        again = client.get(url)

        assert weak.status_code == 400
        assert done.status_code == 302
        assert User.objects.get(pk=created.pk).is_active
        assert again.status_code == 400
        assert "链接无效或已过期" in again.content.decode()

    def test_a_link_stops_working_once_the_user_is_deactivated(self, client, city):
        created = _add(city.south_admin, city.south)
        uid, token = user_activation_link(actor=city.south_admin, user_id=created.pk, now=NOW)
        user_deactivate(actor=city.south_admin, user_id=created.pk, confirmed=True, now=NOW)

        answer = client.post(reverse("organisations:activate", args=[uid, token]),
                             {"new_password1": "a-long-secret-77", "new_password2": "a-long-secret-77"})  # fmt: skip

        assert answer.status_code == 400
        assert not User.objects.get(pk=created.pk).is_active


class TestTokens:
    def test_a_revoked_token_is_refused_by_the_api(self, client, city):
        key = api_token_create(user=city.south_clerk, name="脚本", now=NOW)
        token = ApiToken.objects.get()

        api_token_revoke(actor=city.south_admin, token_id=token.pk, confirmed=True, now=NOW)
        answer = client.get("/api/v1/groups", HTTP_AUTHORIZATION=f"Bearer {key}")

        assert answer.status_code == 401
        assert AuditEntry.objects.filter(action="api_token.revoke", subject_id=token.pk).exists()

    def test_another_units_token_cannot_be_revoked(self, city):
        api_token_create(user=city.north_clerk, name="脚本", now=NOW)
        token = ApiToken.objects.get()

        with pytest.raises(UnableToManageUser):
            api_token_revoke(actor=city.south_admin, token_id=token.pk, confirmed=True, now=NOW)

        assert ApiToken.objects.get().revoked_at is None


class TestThePages:
    def test_the_list_shows_only_the_administrators_units(self, client, city):
        client.force_login(city.south_admin)

        response = client.get(reverse("organisations:users"))

        names = [row.username for row in response.context["rows"]]
        assert sorted(names) == ["south_admin", "south_clerk"]

    def test_the_list_costs_the_same_queries_for_few_or_many_users(
        self, client, city, django_assert_max_num_queries
    ):
        for index in range(30):
            user = factories.user(unit=city.south, role=Role.CLERK, username=f"c{index}")
            api_token_create(user=user, name="脚本", now=NOW)
        client.force_login(city.admin)

        with django_assert_max_num_queries(6):
            response = client.get(reverse("organisations:users"))

        assert response.context["listing"].total == 35

    def test_the_export_is_an_xlsx_of_the_filtered_users(self, client, city):
        client.force_login(city.admin)

        response = client.get(reverse("organisations:user_export"), {"role": "clerk"})

        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        assert [row[0] for row in rows[1:]] == ["south_clerk", "north_clerk"]

    def test_a_reset_on_the_page_needs_the_box_ticked(self, client, city):
        client.force_login(city.south_admin)
        url = reverse("organisations:user_operation", args=[city.south_clerk.pk, "reset"])

        refused = client.post(url)
        done = client.post(url, {"confirm": "1"})

        assert refused.status_code == 400
        assert "请勾选确认后再执行此操作。" in refused.content.decode()
        assert re.search(r"临时密码（只显示这一次）：\w{12}", done.content.decode())
        assert User.objects.get(pk=city.south_clerk.pk).must_change_password

    def test_a_clerk_may_not_open_the_list(self, client, city):
        client.force_login(city.south_clerk)

        assert client.get(reverse("organisations:users")).status_code == 403
