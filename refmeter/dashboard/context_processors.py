"""What every page's template may show of the user's rights: ``may`` and ``menu``.

Both come from the one permission matrix (``role_may``) and the user already loaded for
the request, so they cost no query. The server refuses what a role may not do anyway;
these only keep the buttons and menu items of such actions off the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from refmeter.organisations.permissions import Action, role_may


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    active: bool


@dataclass(frozen=True)
class MenuGroup:
    label: str
    items: list[MenuItem]
    active: bool


# label, url name, the actions any one of which makes the page worth a role's menu
# (None: every logged-in user's). Reading pages open to every role are still left out of
# the menus of roles with nothing to do there (a clerk has no billing menu).
_Entry = tuple[Promise, str, tuple[Action, ...] | None]
MENU: list[tuple[Promise | None, list[_Entry]]] = [
    (None, [
        (_("待办"), "home", None),
        (_("基准户查询"), "registry:group_search", (Action.VIEW_REGISTRY,)),
    ]),
    (_("业务"), [
        (_("工单"), "workorders:list", (Action.VIEW_REGISTRY,)),
        (_("新装受理"), "workorders:new_install", (Action.ACCEPT_APPLICATION,)),
        (_("归档期限"), "workorders:deadlines",
         (Action.ACCEPT_APPLICATION, Action.SIGN_CONTRACT, Action.ARCHIVE_ORDER)),
        (_("存量核查"), "spreadsheets:stock", (Action.EXPORT_STOCK,)),
    ]),
    (_("计量电费"), [
        (_("计量异常"), "anomalies:list",
         (Action.OPEN_ANOMALY_CASE, Action.RECORD_FINDING, Action.COMPUTE_BACK_BILLING,
          Action.VIEW_BACK_BILLINGS)),
        (_("抄表数据导入"), "readings:import", (Action.IMPORT_READINGS,)),
        (_("电费账期"), "billing:runs", (Action.RUN_BILLING, Action.VIEW_BACK_BILLINGS)),
        (_("退补"), "billing:back_billings", (Action.VIEW_BACK_BILLINGS,)),
        (_("营销系统核对"), "reconciliation:reconcile", (Action.RECONCILE_MARKETING,)),
    ]),
    (_("电网"), [
        (_("台区线损"), "lineloss:report",
         (Action.LOAD_AREA_ENERGY, Action.VIEW_BACK_BILLINGS, Action.RUN_BILLING,
          Action.PLAN_INSPECTIONS)),
        (_("停电通知"), "outages:list",
         (Action.MANAGE_OUTAGES, Action.SEND_OUTAGE_NOTICES, Action.CONNECT_POINTS)),
        (_("周期检查"), "inspections:plans",
         (Action.PLAN_INSPECTIONS, Action.RECORD_INSPECTION)),
    ]),
    (_("统计"), [
        (_("管理看板"), "dashboard", None),
        (_("点位统计"), "registry:statistics", (Action.VIEW_STATISTICS,)),
        (_("接口文档"), "/api/v1/docs", None),
    ]),
    (_("系统"), [
        (_("用户管理"), "organisations:users", (Action.MANAGE_USERS,)),
        (_("主数据导入"), "masterdata:page", (Action.LOAD_MASTER_DATA,)),
    ]),
]  # fmt: skip


def _shown(user: Any, actions: tuple[Action, ...] | None) -> bool:
    return actions is None or any(role_may(user=user, action=action) for action in actions)


def _active(path: str, url: str) -> bool:
    # "/" is the base-account search and a prefix of every page: only itself is it.
    return path == url if url == "/" else path.startswith(url)


def menu_for(*, user: Any, path: str) -> list[MenuGroup]:
    groups = []
    for label, entries in MENU:
        items = []
        for item_label, name, actions in entries:
            if _shown(user, actions):
                url = name if name.startswith("/") else reverse(name)
                items.append(MenuItem(label=str(item_label), url=url, active=_active(path, url)))
        if items:
            groups.append(
                MenuGroup(
                    label=str(label) if label else "",
                    items=items,
                    active=any(item.active for item in items),
                )
            )
    return groups


def rights(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"may": {}, "menu": []}
    return {
        # {% if may.run_billing %}: one entry per action of the matrix
        "may": {str(action): role_may(user=user, action=action) for action in Action},
        "menu": menu_for(user=user, path=request.path),
        # The admin site lets in staff only.
        "may_admin": bool(user.is_staff),
    }
