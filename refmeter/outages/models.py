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
    RECORDED = "recorded", _("已记录（发件箱）")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Notice(models.Model):
    """One notice to one affected point's customer, as handed to the SMS gateway."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="notices")
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="+")
    account_number = models.CharField(_("户号"), max_length=10)
    customer_name = models.CharField(_("客户"), max_length=200)
    contact_name = models.CharField(_("停电联系人"), max_length=64, blank=True)
    phone = models.CharField(_("短信号码"), max_length=32, blank=True)
    message = models.CharField(_("内容"), max_length=500)
    backend = models.CharField(_("发送通道"), max_length=64)
    status = models.CharField(_("状态"), max_length=16, choices=NoticeStatus.choices)
    detail = models.CharField(_("回执"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("停电通知")
        verbose_name_plural = _("停电通知")
        ordering = ["outage_id", "account_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["outage", "point"], name="one_notice_per_point_and_outage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outage_id} {self.account_number} {self.status}"
