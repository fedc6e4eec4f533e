from __future__ import annotations

from typing import Any

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
    # Goes up by one whenever a new password is set, so that API tokens issued before
    # it stop working. Django re-hashing the same password (a stronger hasher after an
    # upgrade) is not a change and leaves it alone.
    password_version = models.PositiveIntegerField(default=0, editable=False)
    phone = models.CharField(_("手机"), max_length=32, blank=True)
    # Set when an administrator sets or resets the password: the user is sent to the
    # change-password page until they choose their own.
    must_change_password = models.BooleanField(_("须修改密码"), default=False)
    # When an administrator deactivated the user; a one-time link issued before it no
    # longer works. Empty for a user who was never switched off (or was switched on again).
    deactivated_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def save(self, *args: Any, **kwargs: Any) -> None:
        # set_password() keeps the new raw password in _password until the save, and
        # Django's own re-hash clears it first: so this sees real changes only.
        if getattr(self, "_password", None) is not None:
            self.password_version += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "password_version"}
        super().save(*args, **kwargs)


class ApiToken(models.Model):
    """A bearer token for another system or a script; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(_("签发时间"))
    expires_at = models.DateTimeField(_("有效期至"))
    # The user's password_version when the token was issued; a later password ends it.
    password_version = models.PositiveIntegerField(default=0)
    # Written at most once a minute, so this is the last use to the minute.
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RequestCount(models.Model):
    """How many requests of one kind came from one client address in one fixed window.

    Counted in the database so that every app server behind the load balancer sees
    the same numbers: failed API tokens and anonymous label scans.
    """

    scope = models.CharField(max_length=32)
    client = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("访问计数")
        verbose_name_plural = _("访问计数")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "client", "window_start"], name="request_count_one_per_window"
            ),
        ]
        indexes = [models.Index(fields=["scope", "window_start"], name="request_count_window")]

    def __str__(self) -> str:
        return f"{self.scope} {self.client} {self.window_start}: {self.count}"
