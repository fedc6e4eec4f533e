from django.urls import path

from refmeter.inspections import views

app_name = "inspections"

urlpatterns = [
    path("", views.plans, name="plans"),
    path("plans.xlsx", views.plans_export, name="plans_export"),
    path("<int:plan_id>/", views.plan_detail, name="plan"),
    path("<int:plan_id>/points.xlsx", views.plan_targets_export, name="plan_export"),
    path("<int:plan_id>/route.pdf", views.plan_route, name="plan_route"),
    path("photos/<int:photo_id>/", views.photo, name="photo"),
    path("photos/<int:photo_id>/thumb/", views.photo, {"size": "thumb"}, name="photo_thumb"),
]
