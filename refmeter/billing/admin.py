from django.contrib import admin

from refmeter.billing.models import BackBilling, BillingRun, Tariff


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "effective_from", "price", "flat_price"]
    list_filter = ["code", "kind"]


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
    list_display = ["period_start", "status", "computed_at", "closed_at"]


@admin.register(BackBilling)
class BackBillingAdmin(admin.ModelAdmin):
    list_display = ["group", "method", "period_start", "period_end", "energy", "amount", "status"]
