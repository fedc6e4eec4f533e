from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.registry.models import Group


class ReadingBatch(models.Model):
    file_name = models.CharField(_("文件"), max_length=255)
    imported_at = models.DateTimeField(_("导入时间"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    rows = models.PositiveIntegerField(_("行数"), default=0)
    created = models.PositiveIntegerField(_("新增"), default=0)
    corrected = models.PositiveIntegerField(_("更正"), default=0)
    unchanged = models.PositiveIntegerField(_("未变"), default=0)

    class Meta:
        verbose_name = _("抄表数据导入批次")
        verbose_name_plural = _("抄表数据导入批次")

    def __str__(self) -> str:
        return f"{self.imported_at:%Y-%m-%d %H:%M} {self.file_name}"


class MeterReading(models.Model):
    """The registers frozen at 00:00 of ``reading_date`` (so energy of a day = next day - this)."""

    # No index of its own: the (group, reading_date) index below serves every lookup by
    # group, and a second index on millions of rows slows every load.
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="readings", db_index=False
    )
    meter_asset_number = models.CharField(_("电能表资产编号"), max_length=32)
    reading_date = models.DateField(_("冻结日期"))
    forward_total = models.DecimalField(_("正向有功总"), max_digits=14, decimal_places=2)
    reverse_total = models.DecimalField(_("反向有功总"), max_digits=14, decimal_places=2)
    sharp = models.DecimalField(_("尖"), null=True, blank=True, max_digits=14, decimal_places=2)
    peak = models.DecimalField(_("峰"), null=True, blank=True, max_digits=14, decimal_places=2)
    flat = models.DecimalField(_("平"), null=True, blank=True, max_digits=14, decimal_places=2)
    valley = models.DecimalField(_("谷"), null=True, blank=True, max_digits=14, decimal_places=2)
    batch = models.ForeignKey(ReadingBatch, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("日冻结示数")
        verbose_name_plural = _("日冻结示数")
        constraints = [
            models.UniqueConstraint(
                fields=["meter_asset_number", "reading_date"], name="one_reading_per_meter_day"
            ),
            models.CheckConstraint(
                condition=models.Q(forward_total__gte=0, reverse_total__gte=0),
                name="registers_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["group", "reading_date"])]

    def __str__(self) -> str:
        return f"{self.meter_asset_number} {self.reading_date} {self.forward_total}"


class MeterReadingRevision(models.Model):
    """The values a corrected reading had before the correction."""

    reading = models.ForeignKey(MeterReading, on_delete=models.CASCADE, related_name="revisions")
    forward_total = models.DecimalField(max_digits=14, decimal_places=2)
    reverse_total = models.DecimalField(max_digits=14, decimal_places=2)
    sharp = models.DecimalField(null=True, max_digits=14, decimal_places=2)
    peak = models.DecimalField(null=True, max_digits=14, decimal_places=2)
    flat = models.DecimalField(null=True, max_digits=14, decimal_places=2)
    valley = models.DecimalField(null=True, max_digits=14, decimal_places=2)
    replaced_at = models.DateTimeField()
    replaced_by = models.ForeignKey(ReadingBatch, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.reading_id} @ {self.replaced_at}"
