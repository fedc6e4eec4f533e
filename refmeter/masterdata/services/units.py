"""Load supply units (编码, 名称, 上级编码): the tree of company, branches and service areas."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from refmeter.audit.services import AuditChange
from refmeter.masterdata.services.base import LoadResult, audit, describe
from refmeter.masterdata.services.run import Writer
from refmeter.masterdata.sheet import Table
from refmeter.masterdata.specs import KIND_WORDS
from refmeter.organisations.models import SupplyUnit, UnitKind, User
from refmeter.organisations.selectors import unit_is_visible


def _kind(text: str) -> UnitKind | None:
    for word, kind in KIND_WORDS:
        if word in text or text == kind.value:
            return kind
    return None


def plan_units(*, table: Table, result: LoadResult, actor: User, now: dt.datetime) -> Writer:
    existing = {unit.code: unit for unit in SupplyUnit.objects.select_related("parent")}
    rows: dict[str, dict[str, Any]] = {}
    for row in table.rows:
        code = table.digits(row, "code")
        name = table.text(row, "name", max_length=100)
        parent = table.digits(row, "parent")
        kind_text = table.text(row, "kind")
        prefix = table.digits(row, "prefix")
        if not code:
            table.problem(row, "code", _("不能为空。"))
            continue
        if not (code.isascii() and code.isalnum()) or len(code) > 16:
            table.problem(row, "code", _("单位编码只能包含字母和数字（至多 16 位）。"))
            continue
        if code in rows:
            table.problem(row, "code", _("单位编码 %(code)s 重复。") % {"code": code})
            continue
        if parent == code:
            table.problem(row, "parent", _("上级编码不能是本单位。"))
            continue
        kind = _kind(kind_text) if kind_text else None
        if kind_text and kind is None:
            table.problem(
                row, "kind",
                _("应为“供电公司”“供电分公司”或“供电服务区”，而不是“%(value)s”。")
                % {"value": kind_text},
            )  # fmt: skip
        if prefix and not (prefix.isdigit() and len(prefix) <= 4):
            table.problem(row, "prefix", _("户号前缀应为 1 到 4 位数字。"))
        rows[code] = {"row": row, "name": name, "parent": parent, "kind": kind, "prefix": prefix}
    # Where each unit hangs: its path from the root, through the file and the database.
    paths: dict[str, str] = {}

    def path_of(code: str, seen: tuple[str, ...] = ()) -> str | None:
        if code in paths:
            return paths[code]
        if code in existing and code not in rows:
            return existing[code].path
        spec = rows.get(code)
        if spec is None or code in seen:
            return None
        if code in existing:
            return existing[code].path
        parent = spec["parent"]
        if not parent:
            paths[code] = code + "/"
            return paths[code]
        above = path_of(parent, (*seen, code))
        if above is None:
            return None
        paths[code] = above + code + "/"
        return paths[code]

    parents_in_use = {spec["parent"] for spec in rows.values() if spec["parent"]}
    parents_in_use |= {unit.parent.code for unit in existing.values() if unit.parent is not None}
    creates: list[SupplyUnit] = []
    changes: list[tuple[SupplyUnit, dict[str, tuple[Any, Any]]]] = []
    for code, spec in rows.items():
        row = spec["row"]
        current = existing.get(code)
        if current is not None:
            if not unit_is_visible(user=actor, unit=current):
                table.problem(row, "code", _("单位 %(code)s 不属于您的单位。") % {"code": code})
                continue
            current_parent = current.parent.code if current.parent else ""
            if spec["parent"] != current_parent:
                table.problem(
                    row, "parent",
                    _("单位 %(code)s 的上级单位为 %(parent)s，不能通过导入修改。")
                    % {"code": code, "parent": current_parent or "—"},
                )  # fmt: skip
                continue
            differing: dict[str, tuple[Any, Any]] = {}
            if spec["name"] and spec["name"] != current.name:
                differing["name"] = (current.name, spec["name"])
            if spec["kind"] is not None and spec["kind"] != current.kind:
                differing["kind"] = (current.kind, str(spec["kind"]))
            if spec["prefix"] != current.account_prefix:
                differing["account_prefix"] = (current.account_prefix, spec["prefix"])
            if differing:
                changes.append((current, differing))
            else:
                result.unchanged += 1
            continue
        path = path_of(code)
        if path is None:
            table.problem(
                row, "parent",
                _("上级单位 %(parent)s 不存在（既不在系统中，也不在本文件中），或上下级成环。")
                % {"parent": spec["parent"]},
            )  # fmt: skip
            continue
        root = path.split("/", 1)[0]
        if spec["parent"] == "" and not actor.is_superuser:
            table.problem(row, "parent", _("只有超级管理员可以建立最上级单位。"))
            continue
        if not actor.is_superuser and not (
            actor.unit is not None and path.startswith(actor.unit.path)
        ):
            table.problem(
                row, "parent",
                _("单位 %(code)s 不在您的单位（%(root)s）之下。") % {"code": code, "root": root},
            )  # fmt: skip
            continue
        kind = spec["kind"] or (
            UnitKind.COMPANY
            if not spec["parent"]
            else UnitKind.BRANCH
            if code in parents_in_use
            else UnitKind.SERVICE_AREA
        )
        creates.append(
            SupplyUnit(
                code=code, name=spec["name"], kind=kind, path=path, account_prefix=spec["prefix"]
            )
        )
    result.created = [f"{unit.code} {unit.name}" for unit in creates]
    result.changed = [f"{unit.code} {unit.name}：{describe(diff)}" for unit, diff in changes]

    def write(reason: str) -> None:
        by_code = {code: unit for code, unit in existing.items()}
        entries: list[AuditChange] = []
        for depth in sorted({unit.path.count("/") for unit in creates}):
            level = [unit for unit in creates if unit.path.count("/") == depth]
            for unit in level:
                parent_code = rows[unit.code]["parent"]
                unit.parent = by_code[parent_code] if parent_code else None
            SupplyUnit.objects.bulk_create(level)
            for unit in level:
                by_code[unit.code] = unit
                entries.append(
                    AuditChange(
                        action="unit.create",
                        subject_type="supply_unit",
                        subject_id=unit.pk,
                        subject_label=unit.name,
                        after={
                            "code": unit.code,
                            "name": unit.name,
                            "kind": unit.kind,
                            "parent": rows[unit.code]["parent"],
                            "account_prefix": unit.account_prefix,
                        },
                    )
                )
        for unit, differing in changes:
            for key, (_before, after) in differing.items():
                setattr(unit, key, after)
            entries.append(
                AuditChange(
                    action="unit.update",
                    subject_type="supply_unit",
                    subject_id=unit.pk,
                    subject_label=unit.name,
                    before={key: before for key, (before, _after) in differing.items()},
                    after={key: after for key, (_before, after) in differing.items()},
                )
            )
        SupplyUnit.objects.bulk_update(
            [unit for unit, _diff in changes], ["name", "kind", "account_prefix"]
        )
        audit(actor=actor, now=now, changes=entries, reason=reason)

    return write
