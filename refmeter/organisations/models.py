from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    COMPANY = "company", _("供电公司")
    BRANCH = "branch", _("供电分公司")
    SERVICE_AREA = "service_area", _("供电服务区")


class SupplyUnit(models.Model):
    """A node of the company > branch > service area tree.

    ``path`` holds the codes from the root down ("33501/3350101/"), so that a
    unit and everything under it is one ``startswith`` filter.
    """

    code = models.CharField(_("单位编码"), max_length=16, unique=True)
    name = models.CharField(_("单位名称"), max_length=100)
    kind = models.CharField(_("层级"), max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    # The first digits of every account number this unit issues.
    account_prefix = models.CharField(_("户号前缀"), max_length=4, blank=True)

    class Meta:
        verbose_name = _("供电单位")
        verbose_name_plural = _("供电单位")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9A-Za-z]+$"), name="unit_code_alphanumeric"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLERK = "clerk", _("受理员")
    SURVEYOR = "surveyor", _("勘察员")
    CUSTOMER_MANAGER = "customer_manager", _("客户经理")
    FIELD_STAFF = "field_staff", _("装接/用电检查人员")
    DATA_COLLECTION = "data_collection", _("采集运维人员")
    BILLING = "billing", _("电费人员")
    MANAGER = "manager", _("管理人员")
    ADMINISTRATOR = "administrator", _("系统管理员")


class User(AbstractUser):
    unit = models.ForeignKey(
        SupplyUnit,
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    role = models.CharField(_("岗位角色"), max_length=32, choices=Role.choices, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")


class ApiToken(models.Model):
    """A bearer token for another system or a script; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
