from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from refmeter.registry.models import TransformerArea


class AreaEnergy(models.Model):
    """A month's supply into an area and metered sales in it, from the line-loss system."""

    area = models.ForeignKey(TransformerArea, on_delete=models.PROTECT, related_name="energy")
    period_start = models.DateField(_("月份"))
    supply_kwh = models.DecimalField(_("供电量"), max_digits=16, decimal_places=2, null=True)
    sales_kwh = models.DecimalField(_("售电量"), max_digits=16, decimal_places=2)
    imported_at = models.DateTimeField(_("导入时间"))

    class Meta:
        verbose_name = _("台区供售电量")
        verbose_name_plural = _("台区供售电量")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "period_start"], name="one_figure_per_area_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.period_start:%Y-%m}"
