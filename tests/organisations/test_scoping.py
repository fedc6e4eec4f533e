from __future__ import annotations

from refmeter.organisations.models import Role
from refmeter.organisations.permissions import Action
from refmeter.organisations.selectors import units_visible_to, user_may
from tests import factories


class TestUnitScope:
    def test_a_company_user_sees_every_unit_below(self, city):
        visible = set(units_visible_to(user=city.admin).values_list("code", flat=True))

        assert visible == {"33501", "3350101", "3350102"}

    def test_a_service_area_user_sees_only_their_own(self, city):
        visible = set(units_visible_to(user=city.south_clerk).values_list("code", flat=True))

        assert visible == {"3350101"}


class TestRoles:
    def test_a_clerk_may_edit_sub_accounts_and_billing_staff_may_not(self, city):
        billing = factories.user(unit=city.south, role=Role.BILLING)

        assert user_may(user=city.south_clerk, action=Action.EDIT_SUB_ACCOUNT)
        assert not user_may(user=billing, action=Action.EDIT_SUB_ACCOUNT)
        assert user_may(user=billing, action=Action.VIEW_REGISTRY)


class TestCreateTokenCommand:
    def test_the_printed_token_authenticates_as_the_user(self, city, client):
        import io

        from django.core.management import call_command

        output = io.StringIO()
        call_command("create_token", "south_clerk", "营销系统接口", stdout=output)

        response = client.get(
            "/api/v1/statistics", headers={"Authorization": f"Bearer {output.getvalue().strip()}"}
        )
        assert response.status_code == 200

    def test_an_unknown_user_is_refused(self, db):
        import pytest
        from django.core.management import CommandError, call_command

        with pytest.raises(CommandError) as refusal:
            call_command("create_token", "nobody", "x")

        assert str(refusal.value) == "用户 nobody 不存在或已停用。"
