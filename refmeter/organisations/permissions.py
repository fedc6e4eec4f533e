"""Which role may do what: the one matrix every service and selector checks.

``ROLES_FOR_ACTION`` is the written matrix of ``docs/permissions.md`` (a test keeps the two
equal). Services and selectors check an action with :func:`require`; pages and the API only
turn the refusal into a 403 or a message. Administrators may do everything within their units,
a superuser everything; a user without a unit, nothing.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from refmeter.organisations.models import Role


class Action(StrEnum):
    # registry and information management
    VIEW_REGISTRY = "view_registry"
    EXPORT_REGISTRY = "export_registry"
    VIEW_STATISTICS = "view_statistics"
    EDIT_SUB_ACCOUNT = "edit_sub_account"
    MANAGE_REGISTRY = "manage_registry"
    LOAD_NEARBY_INDEX = "load_nearby_index"
    EXPORT_STOCK = "export_stock"
    IMPORT_STOCK = "import_stock"
    # work order steps (new install, change, closure)
    ACCEPT_APPLICATION = "accept_application"
    SURVEY_SITE = "survey_site"
    SIGN_CONTRACT = "sign_contract"
    CONNECT_POINTS = "connect_points"
    ENTER_INSTALLATION = "enter_installation"
    REMOVE_METER = "remove_meter"
    ARCHIVE_ORDER = "archive_order"
    # labels and field work
    PRINT_LABELS = "print_labels"
    PLAN_INSPECTIONS = "plan_inspections"
    RECORD_INSPECTION = "record_inspection"
    # metering and anomalies
    IMPORT_READINGS = "import_readings"
    OPEN_ANOMALY_CASE = "open_anomaly_case"
    SEND_CONTACT_SHEET = "send_contact_sheet"
    RECORD_FINDING = "record_finding"
    # billing
    RUN_BILLING = "run_billing"
    CLOSE_BILLING_MONTH = "close_billing_month"
    COMPUTE_BACK_BILLING = "compute_back_billing"
    APPROVE_BACK_BILLING = "approve_back_billing"
    VIEW_BACK_BILLINGS = "view_back_billings"
    # grid: line loss and outages
    LOAD_AREA_ENERGY = "load_area_energy"
    MANAGE_OUTAGES = "manage_outages"
    SEND_OUTAGE_NOTICES = "send_outage_notices"
    # going live: users and the marketing system
    MANAGE_USERS = "manage_users"
    LOAD_MASTER_DATA = "load_master_data"
    RECONCILE_MARKETING = "reconcile_marketing"
    EDIT_NOTICE_TEMPLATE = "edit_notice_template"


# What each action is, in the words of the refusal messages and of docs/permissions.md.
ACTION_LABELS: dict[Action, Promise] = {
    Action.VIEW_REGISTRY: _("查询基准户、群组、用电点和工单"),
    Action.EXPORT_REGISTRY: _("导出群组点位清单"),
    Action.VIEW_STATISTICS: _("查看点位统计"),
    Action.EDIT_SUB_ACCOUNT: _("修改虚拟子户的户名、地址、台区和接入点"),
    Action.MANAGE_REGISTRY: _("维护客户、设备类型、台区、接入点、群组及其倍率和电价"),
    Action.LOAD_NEARBY_INDEX: _("导入就近户号索引"),
    Action.EXPORT_STOCK: _("导出存量基准户核查清单"),
    Action.IMPORT_STOCK: _("导入存量基准户核查清单"),
    Action.ACCEPT_APPLICATION: _("受理（发起新装、变更、销户工单，导入接电申请清单，提交或退回）"),
    Action.SURVEY_SITE: _("勘察（生成户号，确认接入点和台区，提交或退回）"),
    Action.SIGN_CONTRACT: _("合同（录入合同，提交或退回）"),
    Action.CONNECT_POINTS: _("接电（录入接电日期和参考表，提交或退回）"),
    Action.ENTER_INSTALLATION: _("安装信息录入（录入点位安装日期，提交或退回）"),
    Action.REMOVE_METER: _("拆表（录入拆表即销户日期，提交或退回）"),
    Action.ARCHIVE_ORDER: _("归档（上传归档资料，提交归档）"),
    Action.PRINT_LABELS: _("打印或重印二维码标识"),
    Action.PLAN_INSPECTIONS: _("制定周期检查计划"),
    Action.RECORD_INSPECTION: _("扫码记录现场检查结果"),
    Action.IMPORT_READINGS: _("导入抄表数据"),
    Action.OPEN_ANOMALY_CASE: _("手工登记计量异常"),
    Action.SEND_CONTACT_SHEET: _("发出计量异常联系单"),
    Action.RECORD_FINDING: _("填写联系单的现场核查结论"),
    Action.RUN_BILLING: _("计算月度电费"),
    Action.CLOSE_BILLING_MONTH: _("电费关账"),
    Action.COMPUTE_BACK_BILLING: _("计算或撤回退补"),
    Action.APPROVE_BACK_BILLING: _("审批退补"),
    Action.VIEW_BACK_BILLINGS: _("查看退补记录"),
    Action.LOAD_AREA_ENERGY: _("导入台区供电量和售电量"),
    Action.MANAGE_OUTAGES: _("制定停电计划"),
    Action.SEND_OUTAGE_NOTICES: _("发送或重发停电通知"),
    Action.MANAGE_USERS: _(
        "管理本单位及下属单位的用户（新建、导入、停用、改岗位、重置密码、吊销接口令牌）"
    ),
    Action.LOAD_MASTER_DATA: _(
        "导入和导出主数据（供电单位、用户、客户、设备类型、电价、台区、接入点）"
    ),
    Action.RECONCILE_MARKETING: _("与营销系统核对参考表客户清单"),
    Action.EDIT_NOTICE_TEMPLATE: _("修改停电通知短信模板"),
}

ALL_ROLES = frozenset(Role)


def _roles(*roles: Role) -> frozenset[Role]:
    """These roles and the administrator, who may do everything within their units."""
    return frozenset({*roles, Role.ADMINISTRATOR})


ROLES_FOR_ACTION: dict[Action, frozenset[Role]] = {
    Action.VIEW_REGISTRY: ALL_ROLES,
    Action.EXPORT_REGISTRY: ALL_ROLES,
    Action.VIEW_STATISTICS: ALL_ROLES,
    Action.EDIT_SUB_ACCOUNT: _roles(
        Role.CLERK, Role.SURVEYOR, Role.CUSTOMER_MANAGER, Role.FIELD_STAFF
    ),
    Action.MANAGE_REGISTRY: _roles(Role.CUSTOMER_MANAGER),
    Action.LOAD_NEARBY_INDEX: _roles(Role.CUSTOMER_MANAGER),
    Action.EXPORT_STOCK: ALL_ROLES,
    Action.IMPORT_STOCK: _roles(Role.CUSTOMER_MANAGER),
    Action.ACCEPT_APPLICATION: _roles(Role.CLERK),
    Action.SURVEY_SITE: _roles(Role.SURVEYOR),
    Action.SIGN_CONTRACT: _roles(Role.CUSTOMER_MANAGER),
    Action.CONNECT_POINTS: _roles(Role.FIELD_STAFF),
    Action.ENTER_INSTALLATION: _roles(Role.FIELD_STAFF, Role.SURVEYOR),
    Action.REMOVE_METER: _roles(Role.FIELD_STAFF),
    Action.ARCHIVE_ORDER: _roles(Role.CUSTOMER_MANAGER),
    Action.PRINT_LABELS: _roles(Role.CLERK, Role.SURVEYOR, Role.CUSTOMER_MANAGER, Role.FIELD_STAFF),
    Action.PLAN_INSPECTIONS: _roles(Role.FIELD_STAFF, Role.MANAGER),
    Action.RECORD_INSPECTION: _roles(Role.FIELD_STAFF),
    Action.IMPORT_READINGS: _roles(Role.DATA_COLLECTION),
    Action.OPEN_ANOMALY_CASE: _roles(Role.DATA_COLLECTION, Role.FIELD_STAFF),
    Action.SEND_CONTACT_SHEET: _roles(Role.DATA_COLLECTION),
    Action.RECORD_FINDING: _roles(Role.FIELD_STAFF),
    Action.RUN_BILLING: _roles(Role.BILLING),
    Action.CLOSE_BILLING_MONTH: _roles(Role.BILLING),
    Action.COMPUTE_BACK_BILLING: _roles(Role.BILLING),
    Action.APPROVE_BACK_BILLING: _roles(Role.BILLING),
    Action.VIEW_BACK_BILLINGS: _roles(Role.BILLING, Role.MANAGER),
    Action.LOAD_AREA_ENERGY: _roles(Role.DATA_COLLECTION),
    Action.MANAGE_OUTAGES: _roles(Role.CUSTOMER_MANAGER, Role.MANAGER),
    Action.SEND_OUTAGE_NOTICES: _roles(Role.CUSTOMER_MANAGER),
    Action.MANAGE_USERS: _roles(),
    Action.LOAD_MASTER_DATA: _roles(),
    Action.RECONCILE_MARKETING: _roles(Role.BILLING, Role.MANAGER),
    Action.EDIT_NOTICE_TEMPLATE: _roles(),
}

# The refusals users already know, kept word for word; every other action names who may.
_GENERIC_REFUSAL = _("您的岗位角色无权执行此操作。")
_ONLY_BILLING = _("只有电费人员可以执行此操作。")
REFUSALS: dict[Action, Promise] = {
    Action.VIEW_REGISTRY: _GENERIC_REFUSAL,
    Action.EXPORT_REGISTRY: _GENERIC_REFUSAL,
    Action.VIEW_STATISTICS: _GENERIC_REFUSAL,
    Action.EDIT_SUB_ACCOUNT: _GENERIC_REFUSAL,
    Action.MANAGE_REGISTRY: _GENERIC_REFUSAL,
    Action.EXPORT_STOCK: _GENERIC_REFUSAL,
    Action.SEND_CONTACT_SHEET: _("只有采集运维人员可以发出联系单。"),
    Action.RECORD_FINDING: _("只有用电检查人员可以填写现场核查结论。"),
    Action.PLAN_INSPECTIONS: _("只有用电检查人员或管理人员可以制定检查计划。"),
    Action.RECORD_INSPECTION: _("只有装接/用电检查人员可以记录检查结果。"),
    Action.RUN_BILLING: _ONLY_BILLING,
    Action.CLOSE_BILLING_MONTH: _ONLY_BILLING,
    Action.COMPUTE_BACK_BILLING: _ONLY_BILLING,
    Action.APPROVE_BACK_BILLING: _ONLY_BILLING,
    Action.VIEW_BACK_BILLINGS: _("只有电费人员和管理人员可以查看退补记录。"),
    Action.EDIT_NOTICE_TEMPLATE: _("只有系统管理员可以修改停电通知模板。"),
}


class ActionNotAllowed(PermissionDenied):
    """The user's role does not allow this action; the message is fit to show.

    A PermissionDenied, so a page that does not catch it answers 403 with the message."""


def role_may(*, user: object, action: Action) -> bool:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    if getattr(user, "unit_id", None) is None:
        return False
    role = getattr(user, "role", "")
    return role == Role.ADMINISTRATOR or role in ROLES_FOR_ACTION[action]


def role_names(action: Action) -> str:
    """The roles that do this action, besides the administrator, as a Chinese list."""
    roles = [role for role in Role if role in ROLES_FOR_ACTION[action]]
    named = [role for role in roles if role != Role.ADMINISTRATOR] or roles
    return gettext("、").join(str(role.label) for role in named)


def refusal_message(action: Action) -> str:
    """What a user whose role may not do ``action`` is told."""
    known = REFUSALS.get(action)
    if known is not None:
        return str(known)
    return gettext("%(action)s须由%(roles)s办理，您的岗位角色无权操作。") % {
        "action": ACTION_LABELS[action],
        "roles": role_names(action),
    }


def require(*, user: object, action: Action) -> None:
    if not role_may(user=user, action=action):
        raise ActionNotAllowed(refusal_message(action))
