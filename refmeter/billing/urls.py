from django.urls import path

from refmeter.billing.views import back_billing, runs

app_name = "billing"

urlpatterns = [
    path("", runs.runs, name="runs"),
    path("runs.xlsx", runs.runs_export, name="runs_export"),
    path("runs/<int:run_id>/", runs.run_detail, name="run"),
    path("runs/<int:run_id>/close/", runs.run_close, name="run_close"),
    path("runs/<int:run_id>/bills.xlsx", runs.run_export, name="run_export"),
    path("runs/<int:run_id>/bill-list.xlsx", runs.run_bills_export, name="run_bills_export"),
    path("runs/<int:run_id>/notices.pdf", runs.run_notices, name="run_notices"),
    path("bills/<int:bill_id>/", runs.bill_detail, name="bill"),
    path("bills/<int:bill_id>/notice.pdf", runs.bill_notice, name="bill_notice"),
    path("back-billing/", back_billing.back_billing_list, name="back_billings"),
    path(
        "back-billing/back-billings.xlsx",
        back_billing.back_billing_export,
        name="back_billings_export",
    ),
    path("back-billing/new/", back_billing.back_billing_new, name="back_billing_new"),
    path(
        "back-billing/<int:back_billing_id>/", back_billing.back_billing_detail, name="back_billing"
    ),
    path(
        "back-billing/<int:back_billing_id>/approve/",
        back_billing.back_billing_approve,
        name="back_billing_approve",
    ),
    path(
        "back-billing/<int:back_billing_id>/withdraw/",
        back_billing.back_billing_withdraw,
        name="back_billing_withdraw",
    ),
]
