from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from refmeter.organisations.models import ApiToken, SupplyUnit, User


@admin.register(SupplyUnit)
class SupplyUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "account_prefix"]
    readonly_fields = ["path"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "unit", "role", "is_active"]
    list_filter = ["role", "unit", "is_active"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("refmeter", {"fields": ["unit", "role"]}),
    ]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = [
        "key_hash",
        "prefix",
        "created_at",
        "expires_at",
        "password_version",
        "last_used_at",
    ]
