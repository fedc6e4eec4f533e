from django.contrib import admin

from refmeter.registry.models import AccessPoint, Customer, DeviceType, TransformerArea


@admin.register(DeviceType)
class DeviceTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "rated_watts", "daily_operating_hours"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "unit", "phone", "outage_contact_name", "sms_number"]
    search_fields = ["name"]


@admin.register(TransformerArea)
class TransformerAreaAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "unit"]
    search_fields = ["number", "name"]


@admin.register(AccessPoint)
class AccessPointAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "area"]
    search_fields = ["number", "name"]
