from django.urls import path

from refmeter.spreadsheets import views

app_name = "spreadsheets"

urlpatterns = [
    path("", views.stock_page, name="stock"),
    path("check-list.xlsx", views.stock_download, name="stock_download"),
    path("import/", views.stock_upload, name="stock_upload"),
]
