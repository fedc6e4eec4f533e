from django.urls import path

from refmeter.lineloss import views

app_name = "lineloss"

urlpatterns = [
    path("", views.report, name="report"),
    path("export.<str:fmt>", views.export, name="export"),
    path("areas/<int:area_id>/", views.area_page, name="area"),
]
