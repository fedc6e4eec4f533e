from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.search.selectors import UnusableSearch, registry_search


@login_required
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    result = None
    problem = ""
    if text:
        try:
            result = registry_search(user=cast(User, request.user), text=text)
        except ActionNotAllowed as error:
            return render(request, "refusal.html", {"message": str(error)}, status=403)
        except UnusableSearch as error:
            problem = str(error)
    return render(
        request,
        "search/results.html",
        # A NUL or a 5,000-character paste is not echoed back into the field.
        {"q": text if not problem else "", "result": result, "problem": problem},
        status=400 if problem else 200,
    )
