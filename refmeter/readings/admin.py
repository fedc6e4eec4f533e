from django.contrib import admin

from refmeter.readings.models import ReadingBatch


@admin.register(ReadingBatch)
class ReadingBatchAdmin(admin.ModelAdmin):
    list_display = ["imported_at", "file_name", "rows", "created", "corrected", "unchanged"]
