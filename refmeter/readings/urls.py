from django.urls import path

from refmeter.readings import views

app_name = "readings"

urlpatterns = [path("import/", views.import_page, name="import")]
