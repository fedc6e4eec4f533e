from django.urls import path

from refmeter.common import views

app_name = "jobs"

urlpatterns = [
    path("<int:job_id>/", views.job_page, name="detail"),
    path("<int:job_id>/file", views.job_file, name="file"),
]
