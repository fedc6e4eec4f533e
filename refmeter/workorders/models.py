from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from refmeter.common.models import Versioned
from refmeter.organisations.models import Role, SupplyUnit
from refmeter.organisations.permissions import ROLES_FOR_ACTION, Action
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    DeviceType,
    Group,
    Point,
    TransformerArea,
)


class OrderKind(models.TextChoices):
    NEW_INSTALL = "new_install", _("新装")
    CHANGE = "change", _("变更")
    CLOSURE = "closure", _("销户")


class Step(models.TextChoices):
    ACCEPTANCE = "acceptance", _("受理")
    SURVEY = "survey", _("勘察")
    CONTRACT = "contract", _("合同")
    CONNECTION = "connection", _("接电")
    INSTALLATION = "installation", _("安装信息录入")
    REMOVAL = "removal", _("拆表")
    ARCHIVE = "archive", _("归档")
    DONE = "done", _("已完成")


STEPS: dict[str, list[str]] = {
    OrderKind.NEW_INSTALL: [
        Step.ACCEPTANCE, Step.SURVEY, Step.CONTRACT, Step.CONNECTION, Step.INSTALLATION,
        Step.ARCHIVE,
    ],
    OrderKind.CHANGE: [
        Step.ACCEPTANCE, Step.SURVEY, Step.CONTRACT, Step.CONNECTION, Step.INSTALLATION,
        Step.ARCHIVE,
    ],
    OrderKind.CLOSURE: [Step.ACCEPTANCE, Step.REMOVAL, Step.ARCHIVE],
}  # fmt: skip

# The action of each step in the role matrix (docs/permissions.md).
STEP_ACTIONS: dict[str, Action] = {
    Step.ACCEPTANCE: Action.ACCEPT_APPLICATION,
    Step.SURVEY: Action.SURVEY_SITE,
    Step.CONTRACT: Action.SIGN_CONTRACT,
    Step.CONNECTION: Action.CONNECT_POINTS,
    Step.INSTALLATION: Action.ENTER_INSTALLATION,
    Step.REMOVAL: Action.REMOVE_METER,
    Step.ARCHIVE: Action.ARCHIVE_ORDER,
}
# Who does each step, from the matrix; an administrator may do any.
STEP_ROLES: dict[str, frozenset[str]] = {
    step: ROLES_FOR_ACTION[action] - {Role.ADMINISTRATOR} for step, action in STEP_ACTIONS.items()
}


class WorkOrder(Versioned):
    """A process for one group. Its version rises with every step action (the order's own
    fields, its lines, contract and documents), so a step form based on an older reading is
    refused."""

    number = models.CharField(_("工单号"), max_length=20, unique=True)
    kind = models.CharField(_("业务类型"), max_length=16, choices=OrderKind.choices)
    unit = models.ForeignKey(SupplyUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT)
    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.PROTECT)
    group = models.ForeignKey(
        Group,
        verbose_name=_("群组"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
    )
    device_type = models.ForeignKey(
        DeviceType, verbose_name=_("单点设备类型"), on_delete=models.PROTECT, null=True, blank=True
    )
    step = models.CharField(_("当前环节"), max_length=16, choices=Step.choices)
    # Application form (attachment 3).
    handler_name = models.CharField(_("经办人"), max_length=64, blank=True)
    handler_id_number = models.CharField(_("经办人身份证号"), max_length=32, blank=True)
    handler_phone = models.CharField(_("经办人电话"), max_length=32, blank=True)
    sms_number = models.CharField(_("短信号码"), max_length=32, blank=True)
    outage_contact_name = models.CharField(_("停电联系人"), max_length=64, blank=True)
    outage_contact_phone = models.CharField(_("停电联系人电话"), max_length=32, blank=True)
    points_applied = models.PositiveIntegerField(_("申请虚拟点数"), default=0)
    note = models.CharField(_("申请说明"), max_length=500, blank=True)
    # Reference meter (new install), entered at connection.
    meter_asset_number = models.CharField(_("参考表资产编号"), max_length=32, blank=True)
    meter_barcode = models.CharField(_("电能表条码"), max_length=32, blank=True)
    meter_box_resource_number = models.CharField(_("表箱资源编号"), max_length=32, blank=True)
    ct_ratio = models.PositiveIntegerField(_("互感器倍率"), default=1)
    tariff_code = models.CharField(_("电价代码"), max_length=32, blank=True)
    connection_date = models.DateField(_("接电日期"), null=True, blank=True)
    closure_date = models.DateField(_("销户日期"), null=True, blank=True)
    archive_due_date = models.DateField(_("归档期限"), null=True, blank=True)
    archive_due_unknown = models.BooleanField(_("归档期限无法计算"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("受理时间"))
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # A withdrawn order is closed (step "done") without changing the registry.
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("撤销原因"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["step", "archive_due_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=OrderKind.NEW_INSTALL) | Q(group__isnull=False),
                name="change_and_closure_start_from_a_group",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class LineAction(models.TextChoices):
    ADD = "add", _("新增")
    CANCEL = "cancel", _("取消")
    CHANGE = "change", _("信息变更")


class WorkOrderLine(models.Model):
    """One point the order adds, cancels or changes."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField(_("序号"))
    action = models.CharField(_("变更"), max_length=8, choices=LineAction.choices)
    is_base = models.BooleanField(_("基准户"), default=False)
    point = models.ForeignKey(
        Point,
        verbose_name=_("用电点"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    name = models.CharField(_("点位名称"), max_length=200)
    device_address = models.CharField(_("接电位置"), max_length=300)
    nearby_number = models.CharField(_("就近户号/局号"), max_length=32, blank=True)
    source_row = models.PositiveIntegerField(_("清单行号"), null=True, blank=True)
    account_number = models.CharField(_("户号"), max_length=10, blank=True)
    access_point = models.ForeignKey(
        AccessPoint,
        verbose_name=_("接入点"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    area = models.ForeignKey(
        TransformerArea,
        verbose_name=_("台区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    place_source = models.CharField(_("接入点来源"), max_length=8, blank=True)  # auto / manual
    installation_date = models.DateField(_("安装日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("工单明细")
        verbose_name_plural = _("工单明细")
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="line_number_unique"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(is_base=True), name="one_base_line_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number} {self.name}"


class EventKind(models.TextChoices):
    CREATED = "created", _("创建")
    COMPLETED = "completed", _("完成")
    RETURNED = "returned", _("退回")
    NOTE = "note", _("记录")
    EDITED = "edited", _("修改申请信息")
    WITHDRAWN = "withdrawn", _("撤销")


class WorkOrderEvent(models.Model):
    """The order's timeline: who did which step, when; returns with their reason."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    step = models.CharField(_("环节"), max_length=16, choices=Step.choices)
    kind = models.CharField(_("动作"), max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("操作人"), max_length=150)
    occurred_at = models.DateTimeField(_("时间"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    # The order's version this event produced (empty: it changed nothing), and the fields it
    # changed as [field, before, after]: "contract.number", "line.3.installation_date", ...
    version = models.PositiveIntegerField(_("版本"), null=True, blank=True)
    changes = models.JSONField(_("变更内容"), default=list, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.step} {self.kind}"


class Contract(models.Model):
    order = models.OneToOneField(WorkOrder, on_delete=models.CASCADE, related_name="contract")
    number = models.CharField(_("合同编号"), max_length=40)
    start_date = models.DateField(_("合同生效日期"))
    end_date = models.DateField(_("合同到期日期"))
    approved_by = models.CharField(_("审批人"), max_length=64, blank=True)
    approved_date = models.DateField(_("审批日期"), null=True, blank=True)
    signed_date = models.DateField(_("签订日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("合同")
        verbose_name_plural = _("合同")

    def __str__(self) -> str:
        return self.number


class DocumentKind(models.TextChoices):
    APPLICATION_FORM = "application_form", _("申报表")
    APPLICATION_LIST = "application_list", _("接电申请清单")
    CONFIRMATION_LIST = "confirmation_list", _("点位现场确认清单")
    INSTALLATION_LIST = "installation_list", _("现场安装清单")
    CONTRACT = "contract", _("合同及附件")
    REMOVAL_TICKET = "removal_ticket", _("拆表工作单")


REQUIRED_DOCUMENTS: dict[str, list[str]] = {
    OrderKind.NEW_INSTALL: [
        DocumentKind.APPLICATION_FORM, DocumentKind.APPLICATION_LIST,
        DocumentKind.CONFIRMATION_LIST, DocumentKind.INSTALLATION_LIST, DocumentKind.CONTRACT,
    ],
    OrderKind.CHANGE: [
        DocumentKind.APPLICATION_FORM, DocumentKind.APPLICATION_LIST,
        DocumentKind.CONFIRMATION_LIST, DocumentKind.INSTALLATION_LIST, DocumentKind.CONTRACT,
    ],
    OrderKind.CLOSURE: [DocumentKind.APPLICATION_FORM, DocumentKind.REMOVAL_TICKET],
}  # fmt: skip


class ArchiveDocument(models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("资料类型"), max_length=32, choices=DocumentKind.choices)
    file = models.FileField(_("文件"), upload_to="archive/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=255)
    size = models.PositiveBigIntegerField(_("大小"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("归档资料")
        verbose_name_plural = _("归档资料")
        ordering = ["kind", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class OrderCounter(models.Model):
    """Order numbers run per day: GD2026112700001."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"
