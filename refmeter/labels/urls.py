from django.urls import path

from refmeter.labels import views

app_name = "labels"

urlpatterns = [
    path("labels/print/", views.print_labels, name="print"),
    path("s/<str:token>/", views.scan, name="scan"),
    path("s/<str:token>/inspection/", views.scan_inspection, name="inspection"),
]
