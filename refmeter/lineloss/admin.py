from django.contrib import admin

from refmeter.lineloss.models import AreaEnergy


@admin.register(AreaEnergy)
class AreaEnergyAdmin(admin.ModelAdmin):
    list_display = ["area", "period_start", "supply_kwh", "sales_kwh"]
