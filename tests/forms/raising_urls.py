"""The site's URLs plus a page that fails, to see what a user is shown on a 500."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def broken(request: HttpRequest) -> HttpResponse:
    raise ValueError("month must be in 1..12")


urlpatterns = [path("broken/", broken), path("", include("refmeter.urls"))]
handler500 = "refmeter.common.views.server_error"
