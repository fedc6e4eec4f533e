"""User administration by unit administrators: create, change the role, deactivate and
reactivate, reset the password (forcing a change at next login), issue the one-time link
that sets a first password, revoke API tokens. Each checked against the actor's units and
the roles they may grant (``may_manage``, ``may_grant``), each audited, each irreversible
one only when confirmed."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange, audit_record
from refmeter.common.text import clean_text
from refmeter.common.validators import mobile_problem
from refmeter.organisations.models import ApiToken, Role, SupplyUnit, User
from refmeter.organisations.permissions import Action, require
from refmeter.organisations.selectors import may_grant, may_manage, unit_scope
from refmeter.organisations.tokens import activation_tokens


class UnableToManageUser(Exception):
    """Nothing was changed; the message says why."""


# Letters and digits that cannot be mistaken for one another when read out or typed.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _refuse_unconfirmed(confirmed: bool) -> None:
    if not confirmed:
        raise UnableToManageUser(_("请勾选确认后再执行此操作。"))


def _target(*, actor: User, user_id: int) -> User:
    require(user=actor, action=Action.MANAGE_USERS)
    target = (
        User.objects.select_related("unit")
        .filter(unit_scope(user=actor), pk=user_id)
        .select_for_update(of=("self",))
        .first()
    )
    if target is None:
        raise UnableToManageUser(_("未找到该用户，或它不属于您所在单位及下属单位。"))
    if not may_manage(actor=actor, target=target):
        raise UnableToManageUser(
            _(
                "您不能管理用户 %(username)s：不能修改自己、超级用户，或与您同级及上级单位的系统管理员。"
            )
            % {"username": target.username}
        )
    return target


def _audit(*, actor: User, target: User, action: str, now: dt.datetime, before=None, after=None,
           reason: str = "") -> None:  # fmt: skip
    audit_record(
        actor=actor,
        occurred_at=now,
        change=AuditChange(
            action=action,
            subject_type="user",
            subject_id=target.pk,
            subject_label=target.username,
            before=before or {},
            after=after or {},
        ),
        reason=reason,
    )


def username_problem(username: str) -> str | None:
    if not username:
        return _("工号不能为空。")
    if len(username) > 150:
        return _("工号不能超过 150 个字符。")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        return _("工号“%(value)s”只能包含字母、数字和 @ . + - _。") % {"value": username[:40]}
    return None


def grant_problem(*, actor: User, unit: SupplyUnit, role: str) -> str | None:
    if role not in Role.values:
        return _("岗位角色“%(role)s”不存在。") % {"role": role[:40]}
    if not may_grant(actor=actor, unit=unit, role=role):
        return _(
            "您不能在%(unit)s授予“%(role)s”岗位：只能在本单位及下属单位授权，系统管理员只能授予下属单位。"
        ) % {
            "unit": unit.name,
            "role": Role(role).label,
        }
    return None


def user_add(
    *, actor: User, username: str, full_name: str, unit: SupplyUnit, role: str, phone: str,
    now: dt.datetime,
) -> User:  # fmt: skip
    """A new user, inactive until they set a password with the one-time link or an
    administrator sets one."""
    require(user=actor, action=Action.MANAGE_USERS)
    username, full_name, phone = clean_text(username), clean_text(full_name), clean_text(phone)
    problems = [
        problem
        for problem in (
            username_problem(username),
            None if full_name else _("姓名不能为空。"),
            mobile_problem(phone) if phone else None,
            grant_problem(actor=actor, unit=unit, role=role),
        )
        if problem
    ]
    if not problems and User.objects.filter(username=username).exists():
        problems.append(_("工号 %(username)s 已存在。") % {"username": username})
    if problems:
        raise UnableToManageUser(" ".join(problems))
    with transaction.atomic():
        user = User(
            username=username, first_name=full_name[:150], unit=unit, role=role, phone=phone,
            is_active=False,
        )  # fmt: skip
        user.set_unusable_password()
        user.save()
        _audit(actor=actor, target=user, action="user.create", now=now,
               after={"unit": unit.code, "role": role, "name": full_name, "phone": phone})  # fmt: skip
    return user


def user_role_change(*, actor: User, user_id: int, role: str, now: dt.datetime) -> User:
    with transaction.atomic():
        target = _target(actor=actor, user_id=user_id)
        assert target.unit is not None
        problem = grant_problem(actor=actor, unit=target.unit, role=role)
        if problem:
            raise UnableToManageUser(problem)
        if target.role == role:
            return target
        before = target.role
        target.role = role
        target.save(update_fields=["role"])
        _audit(actor=actor, target=target, action="user.role", now=now,
               before={"role": before}, after={"role": role})  # fmt: skip
    return target


def user_deactivate(*, actor: User, user_id: int, confirmed: bool, now: dt.datetime) -> User:
    """Switch a user off: no login, no API token, no one-time link works any more."""
    _refuse_unconfirmed(confirmed)
    with transaction.atomic():
        target = _target(actor=actor, user_id=user_id)
        if not target.is_active and target.deactivated_at is not None:
            raise UnableToManageUser(_("该用户已停用。"))
        target.is_active = False
        target.deactivated_at = now
        target.save(update_fields=["is_active", "deactivated_at"])
        _audit(actor=actor, target=target, action="user.deactivate", now=now,
               before={"is_active": True}, after={"is_active": False})  # fmt: skip
    return target


def user_reactivate(*, actor: User, user_id: int, now: dt.datetime) -> User:
    with transaction.atomic():
        target = _target(actor=actor, user_id=user_id)
        if target.deactivated_at is None:
            raise UnableToManageUser(_("该用户未被停用。"))
        target.deactivated_at = None
        target.is_active = target.has_usable_password()
        target.save(update_fields=["is_active", "deactivated_at"])
        _audit(actor=actor, target=target, action="user.reactivate", now=now,
               after={"is_active": target.is_active})  # fmt: skip
    return target


def user_password_reset(*, actor: User, user_id: int, confirmed: bool, now: dt.datetime) -> str:
    """A temporary password (returned once) that the user must change at their next login;
    it also ends the user's API tokens, as every new password does."""
    _refuse_unconfirmed(confirmed)
    with transaction.atomic():
        target = _target(actor=actor, user_id=user_id)
        if target.deactivated_at is not None:
            raise UnableToManageUser(_("该用户已停用，请先启用再重置密码。"))
        password = "".join(secrets.choice(TEMPORARY_ALPHABET) for _index in range(12))
        target.set_password(password)
        target.is_active = True
        target.must_change_password = True
        target.save()
        _audit(actor=actor, target=target, action="user.password_reset", now=now,
               after={"must_change_password": True})  # fmt: skip
    return password


def user_activation_link(*, actor: User, user_id: int, now: dt.datetime) -> tuple[str, str]:
    """The (uid, token) of the one-time link with which a user who has no password yet sets
    one; ``organisations:activate`` turns them into the address."""
    with transaction.atomic():
        target = _target(actor=actor, user_id=user_id)
        if target.is_active or target.deactivated_at is not None or target.has_usable_password():
            raise UnableToManageUser(
                _("只能为尚未设置密码的新用户生成设置密码链接；已有密码的用户请重置密码。")
            )
        _audit(actor=actor, target=target, action="user.activation_link", now=now)
    return urlsafe_base64_encode(force_bytes(target.pk)), activation_tokens.make_token(target)


def user_activate(*, user: User, password: str, now: dt.datetime) -> User:
    """The user sets their first password through the one-time link (already checked)."""
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.is_active = True
        user.must_change_password = False
        user.save()
        _audit(actor=user, target=user, action="user.activate", now=now,
               after={"is_active": True})  # fmt: skip
    return user


def user_password_changed(*, user: User, now: dt.datetime) -> None:
    """After the user chose their own password (Django's form has set and saved it)."""
    with transaction.atomic():
        was = user.must_change_password
        User.objects.filter(pk=user.pk).update(must_change_password=False)
        user.must_change_password = False
        _audit(actor=user, target=user, action="user.password_change", now=now,
               before={"must_change_password": was}, after={"must_change_password": False})  # fmt: skip


def api_token_revoke(*, actor: User, token_id: int, confirmed: bool, now: dt.datetime) -> ApiToken:
    _refuse_unconfirmed(confirmed)
    with transaction.atomic():
        token = ApiToken.objects.filter(pk=token_id).first()
        if token is None:
            raise UnableToManageUser(_("未找到该接口令牌。"))
        target = _target(actor=actor, user_id=token.user_id)
        if token.revoked_at is not None:
            raise UnableToManageUser(_("该接口令牌已吊销。"))
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            occurred_at=now,
            change=AuditChange(
                action="api_token.revoke",
                subject_type="api_token",
                subject_id=token.pk,
                subject_label=f"{target.username}: {token.name}",
                after={"revoked_at": now.isoformat()},
            ),
        )
    return token
