"""Load users (工号, 姓名, 单位编码, 角色, 手机): each new one inactive, with no usable
password, until they set one through their one-time link or an administrator sets one.

Rows are matched by 工号. A user absent from the file is left alone (a load never
deactivates anyone), and a load never makes a superuser. What an administrator may do
by hand in user administration bounds what their file may do: users only in their own
unit and the units below it, the administrator role only below their own unit, never a
change to themselves, a superuser or an administrator of their own rank.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange
from refmeter.common.bulk import insert
from refmeter.common.text import clean_text
from refmeter.common.validators import mobile_problem
from refmeter.masterdata.services.base import LoadResult, audit, update
from refmeter.masterdata.services.run import Writer
from refmeter.masterdata.sheet import Row, Table
from refmeter.masterdata.specs import role_words
from refmeter.organisations.models import Role, SupplyUnit, User
from refmeter.organisations.selectors import may_grant, may_manage, unit_path_is_visible
from refmeter.organisations.services.users import grant_problem, username_problem
from refmeter.organisations.tokens import activation_tokens

# The fields a load sets, by the key of their column (the audit's keys too).
FIELDS = {"name": "first_name", "unit": "unit", "role": "role", "phone": "phone"}


def _shown(key: str, value: str, names: dict[str, str]) -> str:
    return (names.get(value, value) if key == "role" else value) or "—"


def _role(table: Table, row: Row, words: dict[str, Role]) -> str | None:
    """The role the row names (its Chinese name, or its code), "" for an empty cell, None
    (reported) for a name that is no role."""
    text = clean_text(table.raw(row, "role")).replace(" ", "")
    if not text:
        return ""
    role = words.get(text) or (Role(text) if text in Role.values else None)
    if role is None:
        table.problem(
            row, "role",
            _("岗位角色“%(role)s”不存在，应为以下之一：%(roles)s。")
            % {"role": text[:40], "roles": "、".join(words)},
        )  # fmt: skip
        return None
    return str(role.value)


def _activation_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("organisations:activate", args=[uid, activation_tokens.make_token(user)])


def plan_users(*, table: Table, result: LoadResult, actor: User, now: dt.datetime) -> Writer:
    words = role_words()
    names = {str(role.value): word for word, role in words.items()}
    existing = {user.username: user for user in User.objects.select_related("unit")}
    codes = {table.digits(row, "unit") for row in table.rows}
    units = {unit.code: unit for unit in SupplyUnit.objects.filter(code__in=codes - {""})}
    seen: dict[str, int] = {}
    creates: list[User] = []
    changes: list[tuple[User, dict[str, tuple[Any, Any]]]] = []
    for row in table.rows:
        username = table.digits(row, "username")
        name = table.text(row, "name", max_length=150)
        unit_code = table.digits(row, "unit")
        role = _role(table, row, words)
        phone = table.digits(row, "phone")
        if phone and (problem := mobile_problem(phone)):
            table.problem(row, "phone", problem)
        if not username:
            table.problem(row, "username", _("不能为空。"))
            continue
        if problem := username_problem(username):
            table.problem(row, "username", problem)
            continue
        if username in seen:
            table.problem(
                row, "username",
                _("工号 %(username)s 重复（已在第 %(row)d 行）。")
                % {"username": username, "row": seen[username]},
            )  # fmt: skip
            continue
        seen[username] = row.number
        unit = units.get(unit_code)
        if not unit_code:
            table.problem(row, "unit", _("不能为空。"))
        elif unit is None or not unit_path_is_visible(user=actor, path=unit.path):
            table.problem(
                row, "unit",
                _("供电单位编码 %(code)s 不存在或不属于您的单位。") % {"code": unit_code},
            )  # fmt: skip
            unit = None
        current = existing.get(username)
        if role == "" and (current is None or current.role):
            table.problem(row, "role", _("不能为空。"))
            role = None
        if unit is None or role is None or not name:
            continue
        if current is None:
            if problem := grant_problem(actor=actor, unit=unit, role=role):
                table.problem(row, "role", problem)
                continue
            creates.append(
                User(
                    username=username, first_name=name, unit=unit, role=role, phone=phone,
                    is_active=False, password=make_password(None), date_joined=now,
                )
            )  # fmt: skip
            continue
        if current.unit is None or not unit_path_is_visible(user=actor, path=current.unit.path):
            table.problem(
                row, "username",
                _("工号 %(username)s 已是其他单位的用户，不能通过导入修改。")
                % {"username": username},
            )  # fmt: skip
            continue
        wanted = {"name": name, "unit": unit.code, "role": role, "phone": phone}
        had = {"name": current.first_name, "unit": current.unit.code, "role": current.role,
               "phone": current.phone}  # fmt: skip
        differing = {key: (had[key], value) for key, value in wanted.items() if value != had[key]}
        if not differing:
            result.unchanged += 1
            continue
        if not may_manage(actor=actor, target=current):
            table.problem(
                row, "username",
                _(
                    "您不能管理用户 %(username)s：不能修改自己、超级用户，或与您同级及上级单位的系统管理员。"
                )
                % {"username": username},
            )  # fmt: skip
            continue
        if ("unit" in differing or "role" in differing) and not may_grant(
            actor=actor, unit=unit, role=role
        ):
            table.problem(row, "role", grant_problem(actor=actor, unit=unit, role=role) or "")
            continue
        changes.append((current, differing))
    result.created = [
        f"{user.username} {user.first_name}（{user.unit.code if user.unit else ''} "
        f"{names[user.role]}）"
        for user in creates
    ]
    result.changed = [
        f"{user.username} {user.first_name}："
        + "，".join(
            f"{table.spec.label(key)}：{_shown(key, before, names)} → {_shown(key, after, names)}"
            for key, (before, after) in differing.items()
        )
        for user, differing in changes
    ]
    absent = sum(
        1
        for user in existing.values()
        if user.username not in seen
        and user.unit is not None
        and unit_path_is_visible(user=actor, path=user.unit.path)
    )
    if absent:
        result.notes.append(
            _("您的单位及下属单位另有 %(count)d 个用户不在文件中：导入不停用、不修改他们。")
            % {"count": absent}
        )

    def write(reason: str) -> None:
        insert(User, creates, key=("username",))
        for user, differing in changes:
            for key, (_before, after) in differing.items():
                setattr(user, FIELDS[key], units[after] if key == "unit" else after)
        update(User, [user for user, _diff in changes], fields=FIELDS.values())
        entries = [
            AuditChange(
                action="user.create",
                subject_type="user",
                subject_id=user.pk,
                subject_label=user.username,
                after={
                    "unit": user.unit.code if user.unit else "",
                    "role": user.role,
                    "name": user.first_name,
                    "phone": user.phone,
                    "is_active": False,
                },
            )
            for user in creates
        ]
        entries += [
            AuditChange(
                action="user.update",
                subject_type="user",
                subject_id=user.pk,
                subject_label=user.username,
                before={key: before for key, (before, _after) in differing.items()},
                after={key: after for key, (_before, after) in differing.items()},
            )
            for user, differing in changes
        ]
        audit(actor=actor, now=now, changes=entries, reason=reason)
        result.links = [
            {"username": user.username, "name": user.first_name, "path": _activation_path(user)}
            for user in creates
        ]

    return write
