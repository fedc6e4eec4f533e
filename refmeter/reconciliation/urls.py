from django.urls import path

from refmeter.reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    path("", views.reconcile_page, name="reconcile"),
]
