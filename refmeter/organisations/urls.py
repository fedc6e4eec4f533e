from django.urls import path

from refmeter.organisations import views

app_name = "organisations"

urlpatterns = [
    path("", views.user_list, name="users"),
    path("export.xlsx", views.user_export, name="user_export"),
    path("new/", views.user_new, name="user_new"),
    path("<int:user_id>/", views.user_detail, name="user"),
    path("<int:user_id>/<str:operation>/", views.user_operation, name="user_operation"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("activate/<str:uidb64>/<str:token>/", views.activate, name="activate"),
    path("password/", views.password_change, name="password_change"),
]
