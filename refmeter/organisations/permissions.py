"""Which role may perform which action. Administrators may do everything in their units."""

from __future__ import annotations

from enum import StrEnum

from refmeter.organisations.models import Role


class Action(StrEnum):
    VIEW_REGISTRY = "view_registry"
    EDIT_SUB_ACCOUNT = "edit_sub_account"
    MANAGE_REGISTRY = "manage_registry"
    EXPORT_REGISTRY = "export_registry"
    VIEW_STATISTICS = "view_statistics"


ALL_ROLES = frozenset(Role)

ROLES_FOR_ACTION: dict[Action, frozenset[Role]] = {
    Action.VIEW_REGISTRY: ALL_ROLES,
    Action.EXPORT_REGISTRY: ALL_ROLES,
    Action.VIEW_STATISTICS: ALL_ROLES,
    Action.EDIT_SUB_ACCOUNT: frozenset(
        {Role.CLERK, Role.SURVEYOR, Role.CUSTOMER_MANAGER, Role.FIELD_STAFF, Role.ADMINISTRATOR}
    ),
    Action.MANAGE_REGISTRY: frozenset({Role.CUSTOMER_MANAGER, Role.ADMINISTRATOR}),
}


class ActionNotAllowed(Exception):
    """The user's role does not allow this action; the message is fit to show."""


def role_may(*, user: object, action: Action) -> bool:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    if getattr(user, "unit_id", None) is None:
        return False
    role = getattr(user, "role", "")
    return role == Role.ADMINISTRATOR or role in ROLES_FOR_ACTION[action]


def require(*, user: object, action: Action) -> None:
    from django.utils.translation import gettext as _

    if not role_may(user=user, action=action):
        raise ActionNotAllowed(_("您的岗位角色无权执行此操作。"))
