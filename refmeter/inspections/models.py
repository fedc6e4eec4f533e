from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.registry.models import Point


class Finding(models.TextChoices):
    SEALED = "sealed", _("点位在，封印完好")
    SEAL_MISSING = "seal_missing", _("封印缺失")
    POINT_MISSING = "point_missing", _("点位不存在")
    OTHER = "other", _("其他情况")


class InspectionResult(models.Model):
    """What field staff found at a point, recorded from the scan of its label."""

    point = models.ForeignKey(
        Point, verbose_name=_("用电点"), on_delete=models.PROTECT, related_name="inspections"
    )
    finding = models.CharField(_("检查结果"), max_length=16, choices=Finding.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    label_serial = models.PositiveBigIntegerField(_("标签序号"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("检查时间"))

    class Meta:
        verbose_name = _("检查结果")
        verbose_name_plural = _("检查结果")
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.point_id} {self.finding}"
