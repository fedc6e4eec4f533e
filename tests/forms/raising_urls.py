"""The site's URLs plus a page that fails, to see what a user is shown on a 500."""

from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path

PAGE = Template(
    '{% extends "base.html" %}{% block content %}<h1>试一试</h1>'
    '<form method="post" action="/broken/">{% csrf_token %}<button type="submit">提交</button>'
    "</form>{% endblock %}"
)


def broken(request: HttpRequest) -> HttpResponse:
    raise ValueError("month must be in 1..12")


def page_with_a_broken_form(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.render(RequestContext(request)))


urlpatterns = [
    path("broken/", broken),
    path("try-broken/", page_with_a_broken_form),
    path("", include("refmeter.urls")),
]
handler500 = "refmeter.common.views.server_error"
