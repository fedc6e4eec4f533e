"""The point registry.

A *point* (用电点) is either a group's base account (基准户, the one with the
real reference meter) or one of its virtual sub-accounts (虚拟子户). Both have
their own 10-digit account number, address, access point and transformer area,
so they share one table, told apart by ``kind``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from refmeter.common.models import Versioned
from refmeter.organisations.models import SupplyUnit


class Customer(models.Model):
    unit = models.ForeignKey(SupplyUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT)
    name = models.CharField(_("客户名称"), max_length=200)
    registration_number = models.CharField(_("证件号码"), max_length=64, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    postcode = models.CharField(_("邮编"), max_length=6, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    handler_name = models.CharField(_("经办人"), max_length=64, blank=True)
    handler_id_number = models.CharField(_("经办人身份证号"), max_length=32, blank=True)
    handler_phone = models.CharField(_("经办人电话"), max_length=32, blank=True)
    outage_contact_name = models.CharField(_("停电联系人"), max_length=64, blank=True)
    outage_contact_phone = models.CharField(_("停电联系人电话"), max_length=32, blank=True)
    sms_number = models.CharField(_("短信号码"), max_length=32, blank=True)
    created_date = models.DateField(_("建档日期"))

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="customer_name_unique_in_unit")
        ]

    def __str__(self) -> str:
        return self.name


class DeviceType(models.Model):
    name = models.CharField(_("设备类型"), max_length=100, unique=True)
    rated_watts = models.DecimalField(_("额定功率(W)"), max_digits=8, decimal_places=1)
    daily_operating_hours = models.DecimalField(
        _("日运行小时数"), max_digits=4, decimal_places=1, default=24
    )

    class Meta:
        verbose_name = _("基准设备类型")
        verbose_name_plural = _("基准设备类型")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(rated_watts__gt=0), name="device_watts_positive"),
            models.CheckConstraint(
                condition=Q(daily_operating_hours__gt=0, daily_operating_hours__lte=24),
                name="device_hours_in_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rated_watts.normalize():f}W"


class TransformerArea(models.Model):
    unit = models.ForeignKey(SupplyUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT)
    number = models.CharField(_("台区编号"), max_length=32, unique=True)
    name = models.CharField(_("台区名称"), max_length=200)

    class Meta:
        verbose_name = _("台区")
        verbose_name_plural = _("台区")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class AccessPoint(models.Model):
    number = models.CharField(_("接入点编号"), max_length=17, unique=True)
    name = models.CharField(_("接入点名称"), max_length=200)
    area = models.ForeignKey(
        TransformerArea,
        verbose_name=_("台区"),
        on_delete=models.PROTECT,
        related_name="access_points",
    )

    class Meta:
        verbose_name = _("接入点")
        verbose_name_plural = _("接入点")
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{17}$"), name="access_point_number_17_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def area_number(self) -> str:
        """The number of its transformer area (as ``PlaceRef`` has it)."""
        return self.area.number


class NearbyKind(models.TextChoices):
    ACCOUNT = "account", _("户号")
    METER = "meter", _("电能表局号")
    POLE = "pole", _("杆号/箱号")


class NearbyNumber(models.Model):
    """The index from a nearby account, meter asset or pole number to where it is connected."""

    number = models.CharField(_("就近户号/局号"), max_length=32, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=NearbyKind.choices)
    access_point = models.ForeignKey(
        AccessPoint, verbose_name=_("接入点"), on_delete=models.PROTECT, related_name="+"
    )
    loaded_at = models.DateTimeField(_("导入时间"))

    class Meta:
        verbose_name = _("就近户号索引")
        verbose_name_plural = _("就近户号索引")

    def __str__(self) -> str:
        return self.number


class AccountNumberCounter(models.Model):
    """The last account number a unit issued; numbers only go up, so none is reused."""

    unit = models.OneToOneField(SupplyUnit, on_delete=models.PROTECT, primary_key=True)
    last_sequence = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.last_sequence}"


class RetiredAccountNumber(models.Model):
    """An account number issued for an order that was withdrawn before any point used it. It
    is kept so that the number is never issued again (the marketing system may have seen it on
    the printed confirmation list)."""

    number = models.CharField(_("户号"), max_length=10, unique=True)
    unit = models.ForeignKey(SupplyUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT)
    retired_at = models.DateTimeField(_("停用时间"))
    work_order = models.CharField(_("工单号"), max_length=20, blank=True)
    reason = models.CharField(_("原因"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("已作废户号")
        verbose_name_plural = _("已作废户号")

    def __str__(self) -> str:
        return self.number


class GroupStatus(models.TextChoices):
    RUNNING = "running", _("运行")
    CLOSED = "closed", _("已销户")


class Group(Versioned):
    """A billing group (群组): one base account with the reference meter, and its sub-accounts."""

    unit = models.ForeignKey(SupplyUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT)
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.PROTECT, related_name="groups"
    )
    device_type = models.ForeignKey(
        DeviceType, verbose_name=_("基准设备类型"), on_delete=models.PROTECT, related_name="groups"
    )
    tariff_code = models.CharField(_("电价代码"), max_length=32, blank=True)
    meter_asset_number = models.CharField(_("参考表资产编号"), max_length=32, unique=True)
    meter_barcode = models.CharField(_("电能表条码"), max_length=32, blank=True)
    meter_box_resource_number = models.CharField(_("表箱资源编号"), max_length=32, blank=True)
    ct_ratio = models.PositiveIntegerField(_("互感器倍率"), default=1)
    meter_install_date = models.DateField(_("装表日期"))
    created_date = models.DateField(_("立户日期"), db_index=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=GroupStatus.choices, default=GroupStatus.RUNNING
    )
    closed_date = models.DateField(_("销户日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("群组")
        verbose_name_plural = _("群组")
        constraints = [
            models.CheckConstraint(condition=Q(ct_ratio__gte=1), name="group_ct_ratio_positive"),
            models.CheckConstraint(
                condition=Q(status=GroupStatus.RUNNING, closed_date__isnull=True)
                | Q(status=GroupStatus.CLOSED, closed_date__isnull=False),
                name="group_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} / {self.meter_asset_number}"


class GroupTerms(models.Model):
    """The CT ratio and tariff code of a group from a date on; the next row ends it.

    Billing reads these, so a change dated the 16th bills the 1st-15th with the old
    values even while the month is still open. ``Group.ct_ratio`` and
    ``Group.tariff_code`` hold the latest row's values for display and search."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="terms")
    from_date = models.DateField(_("执行日期"))
    ct_ratio = models.PositiveIntegerField(_("互感器倍率"))
    tariff_code = models.CharField(_("电价代码"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("倍率与电价执行记录")
        verbose_name_plural = _("倍率与电价执行记录")
        ordering = ["group_id", "from_date"]
        constraints = [
            models.UniqueConstraint(fields=["group", "from_date"], name="one_terms_row_a_day"),
            models.CheckConstraint(condition=Q(ct_ratio__gte=1), name="terms_ct_ratio_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.group_id} {self.from_date} ×{self.ct_ratio} {self.tariff_code}"


class PointKind(models.TextChoices):
    BASE = "base", _("基准户")
    SUB = "sub", _("虚拟子户")


class PointStatus(models.TextChoices):
    PENDING = "pending", _("待接电")
    ACTIVE = "active", _("在用")
    CANCELLED = "cancelled", _("已取消")


class Point(Versioned):
    group = models.ForeignKey(
        Group, verbose_name=_("群组"), on_delete=models.PROTECT, related_name="points"
    )
    kind = models.CharField(_("户类型"), max_length=8, choices=PointKind.choices)
    account_number = models.CharField(_("户号"), max_length=10, unique=True)
    name = models.CharField(_("户名"), max_length=200)
    device_address = models.CharField(_("设备地址"), max_length=300)
    nearby_number = models.CharField(_("就近户号/局号"), max_length=32, blank=True)
    access_point = models.ForeignKey(
        AccessPoint,
        verbose_name=_("接入点"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points",
    )
    area = models.ForeignKey(
        TransformerArea,
        verbose_name=_("台区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=PointStatus.choices, default=PointStatus.PENDING
    )
    active_from_date = models.DateField(_("接电日期"), null=True, blank=True)
    active_to_date = models.DateField(_("停用日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("用电点")
        verbose_name_plural = _("用电点")
        ordering = ["group_id", "kind", "account_number"]
        indexes = [models.Index(fields=["group", "active_from_date", "active_to_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["group"],
                condition=Q(kind=PointKind.BASE),
                name="one_base_account_per_group",
            ),
            models.CheckConstraint(
                condition=Q(account_number__regex=r"^[0-9]{10}$"),
                name="account_number_10_digits",
            ),
            models.CheckConstraint(
                condition=~Q(status=PointStatus.ACTIVE)
                | Q(
                    active_from_date__isnull=False,
                    access_point__isnull=False,
                    area__isnull=False,
                ),
                name="active_point_has_place",
            ),
            models.CheckConstraint(
                condition=Q(active_to_date__isnull=True)
                | Q(
                    active_from_date__isnull=False, active_to_date__gt=models.F("active_from_date")
                ),
                name="point_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_number} {self.name}"


class FinalBillRequest(models.Model):
    """A closed group waiting for its final bill; billing computes it and fills ``billed_at``."""

    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="final_bill_request")
    closure_date = models.DateField(_("销户日期"))
    requested_at = models.DateTimeField(_("申请时间"))
    work_order = models.CharField(_("工单"), max_length=64, blank=True)
    billed_at = models.DateTimeField(_("出账时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("销户结算申请")
        verbose_name_plural = _("销户结算申请")

    def __str__(self) -> str:
        return f"{self.group_id} {self.closure_date}"


class PointPlacement(models.Model):
    """Where a point drew its power from, and from when: a move between areas mid-month
    puts each part of the month in its own transformer area."""

    point = models.ForeignKey(Point, on_delete=models.CASCADE, related_name="placements")
    area = models.ForeignKey(TransformerArea, on_delete=models.PROTECT, related_name="+")
    access_point = models.ForeignKey(
        AccessPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_date = models.DateField(_("起始日期"))
    to_date = models.DateField(_("截止日期（不含）"), null=True, blank=True)

    class Meta:
        verbose_name = _("用电点接入位置")
        verbose_name_plural = _("用电点接入位置")
        ordering = ["point_id", "from_date"]
        constraints = [
            models.UniqueConstraint(fields=["point", "from_date"], name="one_placement_a_day"),
            models.CheckConstraint(
                condition=Q(to_date__isnull=True) | Q(to_date__gt=models.F("from_date")),
                name="placement_period_ordered",
            ),
        ]
        indexes = [models.Index(fields=["area", "from_date"])]

    def __str__(self) -> str:
        return f"{self.point_id} {self.area_id} {self.from_date}"
