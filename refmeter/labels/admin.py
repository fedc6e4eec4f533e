from django.contrib import admin

from refmeter.labels.models import Label, ScanLog, SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ["key_id", "public_key", "created_at", "retired_at"]
    exclude = ["private_key"]
    readonly_fields = ["key_id", "public_key", "created_at"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["serial", "account_number", "issued_at", "voided_at", "void_reason"]
    search_fields = ["account_number", "=serial"]


@admin.register(ScanLog)
class ScanLogAdmin(admin.ModelAdmin):
    list_display = ["scanned_at", "serial", "account_number", "result", "user", "via"]
    list_filter = ["result", "via"]
