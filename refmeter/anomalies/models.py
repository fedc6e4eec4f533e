from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.organisations.models import SupplyUnit
from refmeter.registry.models import Group


class AnomalyKind(models.TextChoices):
    STOPPED = "stopped", _("停走")
    ZERO = "zero", _("示数为零（零度）")
    REVERSE = "reverse", _("反向有功增长（疑似接线反）")
    GOING_DOWN = "going_down", _("示度下降（倒走）")
    RUNNING_FAST = "running_fast", _("飞走（单点电量超过额定）")
    UNBALANCED = "unbalanced", _("示值不平（分时之和不等于总）")
    SUDDEN_SELF = "sudden_self", _("电量突变（与自身近期相比）")
    SUDDEN_PEERS = "sudden_peers", _("电量突变（与同类群组相比）")
    MISSING = "missing", _("抄表失败（缺少读数）")
    # Raised by people from field findings, not by the rules.
    THEFT = "theft", _("疑似窃电（接线无封印）")
    MULTIPLIER = "multiplier", _("倍率不符（现场发现未登记点位）")


# raise after N days, clear after N days, threshold (meaning per kind)
RULE_DEFAULTS: dict[str, tuple[int, int, Decimal]] = {
    AnomalyKind.STOPPED: (3, 3, Decimal(0)),
    AnomalyKind.ZERO: (3, 3, Decimal(0)),
    AnomalyKind.REVERSE: (2, 3, Decimal("0.01")),  # kWh of reverse growth a day
    AnomalyKind.GOING_DOWN: (2, 3, Decimal("0.01")),  # kWh the register may fall
    AnomalyKind.RUNNING_FAST: (3, 3, Decimal("1.0")),  # times rated watts x 24 h
    AnomalyKind.UNBALANCED: (3, 3, Decimal("0.1")),  # kWh of difference allowed
    AnomalyKind.SUDDEN_SELF: (3, 3, Decimal(3)),  # times the last 30 days' average, or 1/x
    AnomalyKind.SUDDEN_PEERS: (3, 3, Decimal(3)),  # times the device type's average, or 1/x
    AnomalyKind.MISSING: (3, 2, Decimal(0)),
}


class AnomalyRule(models.Model):
    """An administrator's tuning of one detection rule."""

    kind = models.CharField(_("异常类型"), max_length=16, choices=AnomalyKind.choices, unique=True)
    enabled = models.BooleanField(_("启用"), default=True)
    raise_after_days = models.PositiveSmallIntegerField(_("持续几天后报出"))
    clear_after_days = models.PositiveSmallIntegerField(_("消失几天后解除"))
    threshold = models.DecimalField(_("阈值"), max_digits=10, decimal_places=3)

    class Meta:
        verbose_name = _("异常规则")
        verbose_name_plural = _("异常规则")

    def __str__(self) -> str:
        return self.get_kind_display()


class CaseStatus(models.TextChoices):
    OPEN = "open", _("处理中")
    CLEARED = "cleared", _("已自动解除")
    CLOSED = "closed", _("已办结")


class Cause(models.TextChoices):
    METER_FAULT = "meter_fault", _("表计故障")
    WIRING_ERROR = "wiring_error", _("接线错误")
    BYPASS = "bypass", _("绕越计量（负荷未接入表计）")
    THEFT = "theft", _("窃电")
    NO_FAULT = "no_fault", _("现场无异常")
    BASE_ACCOUNT_CHANGE = "base_account_change", _("需更换基准户")
    MULTIPLIER_MISMATCH = "multiplier_mismatch", _("倍率不符（点位数与档案不符）")


class AnomalyCase(models.Model):
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="anomaly_cases")
    meter_asset_number = models.CharField(_("电能表资产编号"), max_length=32)
    kind = models.CharField(_("异常类型"), max_length=16, choices=AnomalyKind.choices)
    account_number = models.CharField(_("涉及户号"), max_length=10, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    condition_since = models.DateField(_("异常起始日"))
    raised_on = models.DateField(_("报出日期"), db_index=True)
    last_seen_on = models.DateField(_("最近一次出现"))
    cleared_on = models.DateField(_("解除日期"), null=True, blank=True)
    evidence = models.JSONField(_("证据"), default=dict)
    cause = models.CharField(_("原因"), max_length=24, choices=Cause.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("异常工单")
        verbose_name_plural = _("异常工单")
        ordering = ["raised_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter_asset_number", "kind", "account_number"],
                condition=models.Q(status="open"),
                name="one_open_case_per_meter_and_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter_asset_number} {self.kind} {self.raised_on}"


class ContactSheet(models.Model):
    """联系单: sent by data-collection staff to the unit's inspectors, answered on site."""

    case = models.OneToOneField(AnomalyCase, on_delete=models.PROTECT, related_name="sheet")
    number = models.CharField(_("联系单号"), max_length=20, unique=True)
    unit = models.ForeignKey(SupplyUnit, on_delete=models.PROTECT)
    sent_at = models.DateTimeField(_("发出时间"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    request = models.CharField(_("核查要求"), max_length=500, blank=True)
    finding = models.CharField(_("现场核查结论"), max_length=24, choices=Cause.choices, blank=True)
    finding_note = models.CharField(_("核查说明"), max_length=500, blank=True)
    found_on = models.DateField(_("核查日期"), null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("联系单")
        verbose_name_plural = _("联系单")
        ordering = ["sent_at"]

    def __str__(self) -> str:
        return self.number


# ---------------------------------------------------------------- the scan's run state
# The nightly scan reads only the days since the last scan; what it needs of the days
# before is kept here, and thrown away and rebuilt by a full rescan.


class ScanState(models.Model):
    """Where the last scan left off (one row): the day it scanned through, the rules and
    window it scanned with, and the newest reading and import batch it had seen."""

    scanned_through = models.DateField()
    fingerprint = models.JSONField(default=dict)
    reading_mark = models.BigIntegerField(default=0)
    batch_mark = models.BigIntegerField(default=0)
    full_on = models.DateField()
    scanned_at = models.DateTimeField()

    class Meta:
        verbose_name = _("异常扫描状态")
        verbose_name_plural = _("异常扫描状态")

    def __str__(self) -> str:
        return str(self.scanned_through)


class MeterRuleState(models.Model):
    """One meter and rule: the last day the condition held, the last day it did not, and
    the first day it could be judged, over the days scanned so far."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    meter_asset_number = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=AnomalyKind.choices)
    last_true = models.DateField(null=True)
    last_false = models.DateField(null=True)
    first_day = models.DateField(null=True)

    class Meta:
        verbose_name = _("异常规则运行状态")
        verbose_name_plural = _("异常规则运行状态")
        constraints = [
            models.UniqueConstraint(fields=["group", "kind"], name="one_rule_state_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.meter_asset_number} {self.kind}"


class ScanMeter(models.Model):
    """The registry as the last scan saw it: a running group's meter and the figures of it
    the rules read. Any of them changed, the next scan is a full rescan."""

    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    meter_asset_number = models.CharField(max_length=32)
    device_type_id = models.BigIntegerField()
    ct_ratio = models.PositiveIntegerField()
    rated_watts = models.DecimalField(max_digits=10, decimal_places=1)
    created_date = models.DateField()

    class Meta:
        verbose_name = _("异常扫描表计")
        verbose_name_plural = _("异常扫描表计")

    def __str__(self) -> str:
        return self.meter_asset_number
