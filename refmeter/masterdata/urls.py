from django.urls import path

from refmeter.masterdata import views

app_name = "masterdata"

urlpatterns = [
    path("", views.master_page, name="page"),
    path("upload/", views.upload, name="upload"),
    path("jobs/<int:job_id>/confirm/", views.confirm, name="confirm"),
    path("<str:kind>/template.xlsx", views.template_download, name="template"),
    path("<str:kind>/export.xlsx", views.export_download, name="export"),
]
