from django.urls import path

from refmeter.inspections import views

app_name = "inspections"

urlpatterns = [
    path("", views.plans, name="plans"),
    path("<int:plan_id>/", views.plan_detail, name="plan"),
    path("<int:plan_id>/route.pdf", views.plan_route, name="plan_route"),
    path("photos/<int:photo_id>/", views.photo, name="photo"),
    path("photos/<int:photo_id>/thumb/", views.photo, {"size": "thumb"}, name="photo_thumb"),
]
