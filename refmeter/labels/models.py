from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.registry.models import Point


class SigningKey(models.Model):
    """An Ed25519 key pair for labels. Retired keys still verify the labels they signed."""

    key_id = models.PositiveSmallIntegerField(_("密钥编号"), unique=True)
    public_key = models.CharField(_("公钥"), max_length=64)  # base64 of the 32 raw bytes
    # Empty when the private key comes from configuration rather than the database.
    private_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("标签签名密钥")
        verbose_name_plural = _("标签签名密钥")
        ordering = ["key_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(key_id__gte=1, key_id__lte=255), name="key_id_fits_one_byte"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.key_id}"


class Label(models.Model):
    serial = models.PositiveBigIntegerField(_("标签序号"), unique=True)
    account_number = models.CharField(_("户号"), max_length=10, db_index=True)
    # As printed, so a label issued before connection still says where it belongs.
    name = models.CharField(_("户名"), max_length=200, blank=True)
    short_address = models.CharField(_("地址"), max_length=300, blank=True)
    point = models.ForeignKey(
        Point,
        verbose_name=_("用电点"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="labels",
    )
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="labels")
    issued_at = models.DateTimeField(_("签发时间"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    batch = models.CharField(_("批次"), max_length=64, blank=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    void_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["-serial"]
        constraints = [
            models.UniqueConstraint(
                fields=["account_number"],
                condition=models.Q(voided_at__isnull=True),
                name="one_valid_label_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.serial} {self.account_number}"


class LabelCounter(models.Model):
    """The last serial issued; serials only go up."""

    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.last)


class ScanResult(models.TextChoices):
    VALID = "valid", _("有效")
    MALFORMED = "malformed", _("无法识别")
    FORGED = "forged", _("签名不符（伪造或篡改）")
    UNKNOWN_KEY = "unknown_key", _("未知密钥")
    UNKNOWN = "unknown", _("未签发")
    VOIDED = "voided", _("已作废")


class ScanLog(models.Model):
    scanned_at = models.DateTimeField(_("扫描时间"), db_index=True)
    label = models.ForeignKey(
        Label, on_delete=models.PROTECT, null=True, blank=True, related_name="scans"
    )
    serial = models.PositiveBigIntegerField(_("标签序号"), null=True, blank=True)
    account_number = models.CharField(_("户号"), max_length=10, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.CharField(_("结果"), max_length=16, choices=ScanResult.choices)
    remote_address = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(_("来源"), max_length=16, default="page")

    class Meta:
        verbose_name = _("扫码记录")
        verbose_name_plural = _("扫码记录")
        ordering = ["-scanned_at", "-id"]
        indexes = [
            # What an address logged anonymously in the last hour (scan_log_anonymous).
            models.Index(
                fields=["remote_address", "scanned_at"],
                condition=models.Q(user__isnull=True),
                name="scanlog_anonymous_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scanned_at} {self.serial} {self.result}"
