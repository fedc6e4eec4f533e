from django.contrib import admin

from refmeter.anomalies.models import AnomalyCase, AnomalyRule, ContactSheet


@admin.register(AnomalyRule)
class AnomalyRuleAdmin(admin.ModelAdmin):
    """Administrators tune the rules here; a rule without a row uses its defaults."""

    list_display = ["kind", "enabled", "raise_after_days", "clear_after_days", "threshold"]


@admin.register(AnomalyCase)
class AnomalyCaseAdmin(admin.ModelAdmin):
    list_display = ["meter_asset_number", "kind", "status", "condition_since", "raised_on"]
    list_filter = ["kind", "status"]
    search_fields = ["meter_asset_number", "account_number"]
    readonly_fields = ["evidence"]


@admin.register(ContactSheet)
class ContactSheetAdmin(admin.ModelAdmin):
    list_display = ["number", "sent_at", "finding", "found_on"]
