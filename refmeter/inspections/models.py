from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.registry.models import Point


class Finding(models.TextChoices):
    SEALED = "sealed", _("点位在，封印完好")
    SEAL_MISSING = "seal_missing", _("封印缺失")
    POINT_MISSING = "point_missing", _("点位不存在")
    UNREGISTERED = "unregistered", _("发现未登记点位")
    OTHER = "other", _("其他情况")


class InspectionResult(models.Model):
    """What field staff found at a point, recorded from the scan of its label."""

    point = models.ForeignKey(
        Point, verbose_name=_("用电点"), on_delete=models.PROTECT, related_name="inspections"
    )
    finding = models.CharField(_("检查结果"), max_length=16, choices=Finding.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    label_serial = models.PositiveBigIntegerField(_("标签序号"), null=True, blank=True)
    found_location = models.CharField(_("未登记点位位置"), max_length=300, blank=True)
    found_count = models.PositiveIntegerField(_("未登记点位数"), default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("检查时间"))
    # Where the inspector's phone said it was, when it could tell (WGS-84 degrees).
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        verbose_name = _("检查结果")
        verbose_name_plural = _("检查结果")
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.point_id} {self.finding}"


class InspectionPhoto(models.Model):
    """A photo taken with a finding, kept through Django's storage with a small preview."""

    result = models.ForeignKey(InspectionResult, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("照片"), max_length=300)
    thumbnail = models.FileField(_("缩略图"), max_length=300)
    content_type = models.CharField(_("类型"), max_length=32)
    size = models.PositiveIntegerField(_("大小（字节）"))
    width = models.PositiveIntegerField(_("宽"))
    height = models.PositiveIntegerField(_("高"))
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("检查照片")
        verbose_name_plural = _("检查照片")
        ordering = ["result_id", "id"]

    def __str__(self) -> str:
        return self.file.name


class InspectionPlan(models.Model):
    """A half-year's periodic inspection: a sample of at least 1/5 of each customer's points."""

    unit = models.ForeignKey("organisations.SupplyUnit", on_delete=models.PROTECT)
    period_start = models.DateField(_("检查期开始"))
    period_end = models.DateField(_("检查期结束（不含）"))
    fraction = models.DecimalField(_("抽检比例"), max_digits=4, decimal_places=3)
    seed = models.BigIntegerField(_("随机种子"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("周期检查计划")
        verbose_name_plural = _("周期检查计划")
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.period_start}"


class InspectionTarget(models.Model):
    plan = models.ForeignKey(InspectionPlan, on_delete=models.CASCADE, related_name="targets")
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="+")
    customer_id = models.BigIntegerField()
    group_id = models.BigIntegerField()
    area_id = models.BigIntegerField(null=True)
    result = models.ForeignKey(
        InspectionResult, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["plan_id", "point_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "point"], name="one_target_per_point_and_plan")
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.point_id}"


class FollowUpKind(models.TextChoices):
    CHANGE_ORDER = "change_order", _("变更工单")
    THEFT_CASE = "theft_case", _("窃电核查")
    MULTIPLIER_CASE = "multiplier_case", _("倍率不符退补")


class FollowUp(models.Model):
    result = models.ForeignKey(
        InspectionResult, on_delete=models.CASCADE, related_name="follow_ups"
    )
    kind = models.CharField(_("后续处理"), max_length=16, choices=FollowUpKind.choices)
    reference = models.CharField(_("单号"), max_length=64)

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"
