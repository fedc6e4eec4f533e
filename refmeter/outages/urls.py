from django.urls import path

from refmeter.outages import views

app_name = "outages"

urlpatterns = [
    path("", views.outage_list, name="list"),
    path("outages.xlsx", views.outage_list_export, name="list_export"),
    path("template/", views.notice_template, name="template"),
    path("<int:outage_id>/", views.outage_detail, name="detail"),
    path("<int:outage_id>/send/", views.outage_send, name="send"),
    path("<int:outage_id>/resend/", views.outage_resend, name="resend"),
    path("<int:outage_id>/progress/", views.outage_progress, name="progress"),
    path("<int:outage_id>/points.xlsx", views.outage_export, name="export"),
    path("<int:outage_id>/notices.xlsx", views.outage_notices_export, name="notices_export"),
    path("<int:outage_id>/letters.pdf", views.outage_letters, name="letters"),
]
