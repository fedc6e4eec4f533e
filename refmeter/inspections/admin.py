from django.contrib import admin

from refmeter.inspections.models import InspectionPlan, InspectionResult


@admin.register(InspectionPlan)
class InspectionPlanAdmin(admin.ModelAdmin):
    list_display = ["unit", "period_start", "period_end", "fraction", "seed"]


@admin.register(InspectionResult)
class InspectionResultAdmin(admin.ModelAdmin):
    list_display = ["point", "finding", "recorded_at", "recorded_by"]
    list_filter = ["finding"]
