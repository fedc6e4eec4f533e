from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from refmeter.api import api
from refmeter.common.views import healthz
from refmeter.dashboard.views import dashboard, home
from refmeter.search.views import search

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("orders/", include("refmeter.workorders.urls")),
    path("stock/", include("refmeter.spreadsheets.urls")),
    path("masterdata/", include("refmeter.masterdata.urls")),
    path("jobs/", include("refmeter.common.urls")),
    path("anomalies/", include("refmeter.anomalies.urls")),
    path("readings/", include("refmeter.readings.urls")),
    path("billing/", include("refmeter.billing.urls")),
    path("lineloss/", include("refmeter.lineloss.urls")),
    path("users/", include("refmeter.organisations.urls")),
    path("reconciliation/", include("refmeter.reconciliation.urls")),
    path("outages/", include("refmeter.outages.urls")),
    path("inspections/", include("refmeter.inspections.urls")),
    path("dashboard/", dashboard, name="dashboard"),
    path("search/", search, name="search"),
    path("home/", home, name="home"),
    path("", include("refmeter.labels.urls")),
    path("", include("refmeter.registry.urls")),
]
handler500 = "refmeter.common.views.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
