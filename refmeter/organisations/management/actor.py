from __future__ import annotations

from django.core.management.base import CommandError

from refmeter.organisations.models import User


def command_actor(username: str | None) -> User:
    """The user a command acts as: the one named, or the first active superuser."""
    users = User.objects.select_related("unit").filter(is_active=True)
    actor = (
        users.filter(username=username).first()
        if username
        else users.filter(is_superuser=True).order_by("pk").first()
    )
    if actor is None:
        raise CommandError(
            f"用户 {username} 不存在或已停用。"
            if username
            else "没有可用的系统管理员账号，请用 --user 指定操作人。"
        )
    return actor
