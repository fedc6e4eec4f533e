from django.urls import path

from refmeter.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.group_search, name="group_search"),
    path("groups.xlsx", views.group_search_export, name="group_search_export"),
    path("groups/<int:group_id>/", views.group_detail, name="group_detail"),
    path("groups/<int:group_id>/terms/", views.group_terms, name="group_terms"),
    path("groups/<int:group_id>/points.xlsx", views.group_export, name="group_export"),
    path(
        "groups/<int:group_id>/history.xlsx",
        views.group_history_export,
        name="group_history_export",
    ),
    path("points/<int:point_id>/", views.point_detail, name="point_detail"),
    path("statistics/", views.statistics, name="statistics"),
    path("statistics.xlsx", views.statistics_export, name="statistics_export"),
]
