from django.urls import path

from refmeter.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.runs, name="runs"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/bills.xlsx", views.run_export, name="run_export"),
    path("bills/<int:bill_id>/", views.bill_detail, name="bill"),
    path("back-billing/new/", views.back_billing_new, name="back_billing_new"),
    path("back-billing/<int:back_billing_id>/", views.back_billing_detail, name="back_billing"),
    path(
        "back-billing/<int:back_billing_id>/approve/",
        views.back_billing_approve,
        name="back_billing_approve",
    ),
]
