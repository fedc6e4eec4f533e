from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.organisations.models import SupplyUnit
from refmeter.registry.models import AccessPoint, Point, TransformerArea


class OutageKind(models.TextChoices):
    PLANNED = "planned", _("计划停电")
    TEMPORARY = "temporary", _("临时检修")


class Outage(models.Model):
    unit = models.ForeignKey(SupplyUnit, on_delete=models.PROTECT)
    kind = models.CharField(_("类型"), max_length=16, choices=OutageKind.choices)
    starts_at = models.DateTimeField(_("停电开始"))
    ends_at = models.DateTimeField(_("停电结束"))
    reason = models.CharField(_("停电原因"), max_length=300)
    areas = models.ManyToManyField(TransformerArea, verbose_name=_("台区"), blank=True)
    access_points = models.ManyToManyField(AccessPoint, verbose_name=_("接入点"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"))

    class Meta:
        verbose_name = _("停电计划")
        verbose_name_plural = _("停电计划")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.reason}"


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    RECORDED = "recorded", _("已记录（发件箱）")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    UNKNOWN = "unknown", _("结果未知")
    VOID = "void", _("已作废（旧记录）")


class NoticeTemplate(models.Model):
    """One version of the outage SMS template, for the whole company. An edit adds the next
    version; no version is changed or removed, and each notice names the one it was made
    from. Version 1 is the default the system ships with."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    text = models.CharField(_("模板内容"), max_length=300)
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("修改时间"))

    class Meta:
        verbose_name = _("停电通知模板")
        verbose_name_plural = _("停电通知模板")
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="template_version_from_1"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class Notice(models.Model):
    """One SMS about one outage to one phone number, covering every affected point whose
    customer is reached on that number. Sent at most once: the row is claimed (status
    发送中) and committed before the gateway is called, and the database holds one live
    notice per outage and phone."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="notices")
    phone = models.CharField(_("短信号码"), max_length=32)
    customer_name = models.CharField(_("客户"), max_length=200, blank=True)
    contact_name = models.CharField(_("停电联系人"), max_length=64, blank=True)
    message = models.CharField(_("内容"), max_length=500)
    template = models.ForeignKey(
        NoticeTemplate,
        verbose_name=_("模板版本"),
        on_delete=models.PROTECT,
        null=True,  # notices made before templates were kept
        blank=True,
        related_name="notices",
    )
    backend = models.CharField(_("发送通道"), max_length=64, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    detail = models.CharField(_("回执"), max_length=300, blank=True)
    attempts = models.PositiveIntegerField(_("发送次数"), default=0)
    attempt_limit = models.PositiveIntegerField(_("自动发送次数上限"), default=5)
    next_attempt_at = models.DateTimeField(_("下次重试"), null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("时间"))
    sent_at = models.DateTimeField(_("发出时间"), null=True, blank=True)
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("人工重发人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resent_at = models.DateTimeField(_("人工重发时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("停电通知")
        verbose_name_plural = _("停电通知")
        ordering = ["outage_id", "phone"]
        constraints = [
            models.UniqueConstraint(
                fields=["outage", "phone"],
                condition=~models.Q(status="void"),
                name="one_notice_per_phone_and_outage",
            ),
            models.CheckConstraint(
                condition=models.Q(status="void") | ~models.Q(phone=""),
                name="notice_has_a_phone",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "pending",
                        "sending",
                        "recorded",
                        "sent",
                        "failed",
                        "unknown",
                        "void",
                    ]
                ),
                name="notice_status_known",
            ),
        ]
        indexes = [models.Index(fields=["outage", "status"], name="notice_outage_status")]

    def __str__(self) -> str:
        return f"{self.outage_id} {self.phone} {self.status}"


class NoticePoint(models.Model):
    """An affected point covered by a notice: each point is in at most one notice per outage."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="points")
    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="notice_points")
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="+")
    account_number = models.CharField(_("户号"), max_length=10)

    class Meta:
        verbose_name = _("通知覆盖的用电点")
        verbose_name_plural = _("通知覆盖的用电点")
        ordering = ["outage_id", "account_number"]
        constraints = [
            models.UniqueConstraint(fields=["outage", "point"], name="one_notice_point_per_outage")
        ]

    def __str__(self) -> str:
        return f"{self.outage_id} {self.account_number}"
