from django.urls import path

from refmeter.anomalies import views

app_name = "anomalies"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("cases.xlsx", views.case_list_export, name="list_export"),
    path("<int:case_id>/", views.case_detail, name="case"),
    path("<int:case_id>/sheet/", views.sheet_send, name="sheet_send"),
    path("<int:case_id>/sheet/answer/", views.sheet_answer, name="sheet_answer"),
    path("<int:case_id>/sheet.pdf", views.sheet_print, name="sheet_print"),
    path("meters/<int:group_id>/", views.meter_page, name="meter"),
]
