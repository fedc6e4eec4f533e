from django.contrib import admin
from django.http import HttpRequest

from refmeter.billing.models import BackBilling, BillingRun, Tariff


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "effective_from", "price", "flat_price"]
    list_filter = ["code", "kind"]


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
    """Read-only: months are billed and closed through the billing pages, per unit, audited."""

    list_display = ["period_start", "unit", "status", "computed_at", "closed_at"]
    list_filter = ["status", "unit"]
    list_select_related = ["unit"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BackBilling)
class BackBillingAdmin(admin.ModelAdmin):
    list_display = ["group", "method", "period_start", "period_end", "energy", "amount", "status"]
