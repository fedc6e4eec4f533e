from django.contrib import admin

from refmeter.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "actor_name", "action", "subject_label", "work_order"]
    list_filter = ["action", "subject_type"]
    search_fields = ["subject_label", "actor_name", "work_order"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
