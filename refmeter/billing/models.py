from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from refmeter.anomalies.models import AnomalyCase
from refmeter.organisations.models import SupplyUnit
from refmeter.registry.models import Group

ENERGY = {"max_digits": 16, "decimal_places": 2}


class TariffKind(models.TextChoices):
    SINGLE = "single", _("单一电价")
    TIME_OF_USE = "tou", _("分时电价")


class Tariff(models.Model):
    """A price of a tariff code from a date; the next row of the same code ends it."""

    code = models.CharField(_("电价代码"), max_length=32)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=8, choices=TariffKind.choices)
    effective_from = models.DateField(_("生效日期"))
    price = models.DecimalField(
        _("电度电价（元/kWh）"), null=True, blank=True, max_digits=8, decimal_places=4
    )
    sharp_price = models.DecimalField(
        _("尖峰电价"), null=True, blank=True, max_digits=8, decimal_places=4
    )
    peak_price = models.DecimalField(
        _("高峰电价"), null=True, blank=True, max_digits=8, decimal_places=4
    )
    flat_price = models.DecimalField(
        _("平段电价"), null=True, blank=True, max_digits=8, decimal_places=4
    )
    valley_price = models.DecimalField(
        _("低谷电价"), null=True, blank=True, max_digits=8, decimal_places=4
    )

    class Meta:
        verbose_name = _("电价")
        verbose_name_plural = _("电价")
        ordering = ["code", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "effective_from"], name="one_price_per_day"),
            models.CheckConstraint(
                condition=Q(kind="single", price__gt=0)
                | Q(
                    kind="tou",
                    sharp_price__gt=0,
                    peak_price__gt=0,
                    flat_price__gt=0,
                    valley_price__gt=0,
                ),
                name="tariff_has_its_prices",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.effective_from}"


class RunStatus(models.TextChoices):
    OPEN = "open", _("试算")
    CLOSED = "closed", _("已关账")


class BillingRun(models.Model):
    """One supply unit's month: each unit bills and closes its own month."""

    unit = models.ForeignKey(
        SupplyUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField(_("账期开始"))
    period_end = models.DateField(_("账期结束（不含）"))
    status = models.CharField(
        _("状态"), max_length=8, choices=RunStatus.choices, default=RunStatus.OPEN
    )
    computed_at = models.DateTimeField(_("计算时间"))
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("关账时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Each unbilled group: {"account_number", "reason" (a ProblemReason), "message"}.
    problems = models.JSONField(_("未出账原因"), default=list)

    class Meta:
        verbose_name = _("抄核收账期")
        verbose_name_plural = _("抄核收账期")
        ordering = ["-period_start", "unit__path"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "period_start"], name="one_run_per_unit_month")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.period_start:%Y-%m}"


class ProblemReason(models.TextChoices):
    MISSING_READING = "missing_reading", _("缺少边界日冻结读数")
    NO_TARIFF = "no_tariff", _("没有电价")
    NO_REGISTERS = "no_registers", _("缺少分时示数")
    UNBALANCED = "unbalanced", _("示值不平")


class BillKind(models.TextChoices):
    REGULAR = "regular", _("月度电费")
    FINAL = "final", _("销户结算")


class BillStatus(models.TextChoices):
    ISSUED = "issued", _("有效")
    WITHDRAWN = "withdrawn", _("已撤销（重算后未出账）")


class Bill(models.Model):
    """One invoice per base account per period, with the figures it was computed from.

    A recomputation of an open month updates the same row (same number, same URL) and
    keeps the figures it replaced as a ``BillRevision``."""

    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="bills")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="bills")
    number = models.CharField(_("账单号"), max_length=24, unique=True)
    revision = models.PositiveIntegerField(_("版本"), default=1)
    status = models.CharField(
        _("状态"), max_length=12, choices=BillStatus.choices, default=BillStatus.ISSUED
    )
    kind = models.CharField(_("类型"), max_length=8, choices=BillKind.choices)
    base_account_number = models.CharField(_("基准户号"), max_length=10)
    customer_name = models.CharField(_("客户"), max_length=200)
    tariff_code = models.CharField(_("电价代码"), max_length=32)
    period_start = models.DateField(_("计费开始"))
    period_end = models.DateField(_("计费结束（不含）"))
    ct_ratio = models.PositiveIntegerField(_("互感器倍率"))
    reading_start = models.DecimalField(_("起度"), max_digits=16, decimal_places=2)
    reading_end = models.DecimalField(_("止度"), max_digits=16, decimal_places=2)
    reference_energy = models.DecimalField(_("参考表电量"), max_digits=16, decimal_places=2)
    days = models.PositiveIntegerField(_("天数"))
    point_days = models.PositiveIntegerField(_("点·天"))
    multiplier_spans = models.JSONField(_("综合倍率（快照）"), default=list)
    segments = models.JSONField(_("计费明细"), default=list)
    billed_energy = models.DecimalField(_("结算电量"), max_digits=16, decimal_places=2)
    energy_amount = models.DecimalField(_("电度电费"), max_digits=14, decimal_places=2)
    adjustment_amount = models.DecimalField(
        _("退补金额"), default=0, max_digits=14, decimal_places=2
    )
    total_amount = models.DecimalField(_("应收电费"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("电费账单")
        verbose_name_plural = _("电费账单")
        ordering = ["base_account_number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "group"], name="one_bill_per_group_and_run")
        ]

    def __str__(self) -> str:
        return f"{self.base_account_number} {self.period_start:%Y-%m}"


# The figures of a bill that a recomputation may change, in the order they are shown.
BILL_FIGURES = (
    "kind", "tariff_code", "period_start", "period_end", "ct_ratio", "reading_start",
    "reading_end", "reference_energy", "days", "point_days", "multiplier_spans", "segments",
    "billed_energy", "energy_amount", "adjustment_amount", "total_amount", "status",
)  # fmt: skip


class BillRevision(models.Model):
    """The figures a bill had before a recomputation replaced them."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField(_("版本"))
    figures = models.JSONField(_("原账单数据"))
    replaced_at = models.DateTimeField(_("重算时间"))
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("账单版本")
        verbose_name_plural = _("账单版本")
        ordering = ["bill_id", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "revision"], name="one_row_per_bill_revision")
        ]

    def __str__(self) -> str:
        return f"{self.bill_id} r{self.revision}"


class BillPoint(models.Model):
    """Per-point detail of a bill: each point's active days and its share of the energy."""

    # No foreign key constraint in the database: a month writes a row a point (a million
    # for a large unit), only ever by INSERT ... SELECT joined to its bill, and bills are
    # never deleted, only withdrawn; the constraint's check of every row at commit cost a
    # third of the run. Django still cascades a deletion.
    bill = models.ForeignKey(
        Bill, on_delete=models.CASCADE, related_name="points", db_constraint=False
    )
    account_number = models.CharField(_("户号"), max_length=10)
    name = models.CharField(_("户名"), max_length=200)
    area_number = models.CharField(_("台区编号"), max_length=32)
    active_days = models.PositiveIntegerField(_("计费天数"))
    energy = models.DecimalField(_("分摊电量"), max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["account_number"]

    def __str__(self) -> str:
        return f"{self.account_number} {self.energy}"


class BackBillingMethod(models.TextChoices):
    OWN_HISTORY = "own_history", _("按本表正常月份用电量")
    PEERS = "peers", _("按同类正常群组单点电量")
    RATED = "rated", _("按额定功率×运行小时")
    MULTIPLIER = "multiplier", _("倍率不符：按正确与错误倍率之差")


class BackBillingStatus(models.TextChoices):
    DRAFT = "draft", _("待审批")
    APPROVED = "approved", _("已审批")
    WITHDRAWN = "withdrawn", _("已撤回")


class BackBilling(models.Model):
    """退补: energy and charges put right for a period, computed step by step."""

    case = models.ForeignKey(
        AnomalyCase, on_delete=models.PROTECT, null=True, blank=True, related_name="back_billings"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="back_billings")
    method = models.CharField(_("计算方法"), max_length=16, choices=BackBillingMethod.choices)
    period_start = models.DateField(_("退补期间开始"))
    period_end = models.DateField(_("退补期间结束（不含）"))
    parameters = models.JSONField(_("参数"), default=dict)
    steps = models.JSONField(_("计算过程"), default=list)
    energy = models.DecimalField(
        _("退补电量（正为追补，负为退还）"), max_digits=16, decimal_places=2
    )
    price = models.DecimalField(_("电价"), max_digits=8, decimal_places=4)
    amount = models.DecimalField(_("退补金额"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("状态"), max_length=12, choices=BackBillingStatus.choices, default=BackBillingStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # The sanity bound the amount was held against, and whether the computer confirmed an
    # amount beyond it.
    sanity_bound = models.DecimalField(
        _("合理上限（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    over_bound_confirmed = models.BooleanField(_("超限已确认"), default=False)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(_("撤回原因"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("退补")
        verbose_name_plural = _("退补")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(case__isnull=False) & ~Q(status="withdrawn"),
                name="one_back_billing_per_case_at_a_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.group_id} {self.method} {self.amount}"


class BillAdjustment(models.Model):
    """An approved back-billing waiting for, then posted on, the group's next bill."""

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="adjustments")
    back_billing = models.OneToOneField(
        BackBilling, on_delete=models.PROTECT, related_name="adjustment"
    )
    description = models.CharField(_("说明"), max_length=200)
    energy = models.DecimalField(_("电量"), max_digits=16, decimal_places=2)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField()
    bill = models.ForeignKey(
        Bill, on_delete=models.SET_NULL, null=True, blank=True, related_name="adjustments"
    )

    def __str__(self) -> str:
        return self.description
