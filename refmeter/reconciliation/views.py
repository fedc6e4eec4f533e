from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.forms import add_problems
from refmeter.common.spreadsheets import UnreadableSpreadsheet, check_upload_size
from refmeter.common.tables import export_name, xlsx_response
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, require
from refmeter.reconciliation.forms import ReconcileForm
from refmeter.reconciliation.services import (
    Reconciliation,
    UnableToReconcile,
    reconcile_for,
)


def _export(report: Reconciliation) -> HttpResponse:
    header = [
        _("户号"), _("差异"), _("客户"), _("供电单位"), _("营销系统状态"), _("营销系统综合倍率"),
        _("本系统状态"), _("本系统综合倍率"), _("倍率差"), _("每点月电量(kWh)"),
        _("少计(+)/多计(-)电量(kWh)"),
    ]  # fmt: skip
    rows = [
        [item.account_number, item.kind_label, item.customer_name, item.unit_name,
         item.marketing_status, item.marketing_multiplier, item.refmeter_status,
         item.refmeter_multiplier, item.multiplier_difference, item.energy_per_point,
         item.misbilled_energy]
        for item in report.differences
    ]  # fmt: skip
    return xlsx_response(
        title=_("营销系统核对"),
        header=header,
        rows=rows,
        name=export_name(_("营销系统核对"), report.as_of.isoformat(), extension="xlsx"),
    )


@login_required
def reconcile_page(request: HttpRequest) -> HttpResponse:
    """Upload the marketing system's list and a day; the differences within the user's units
    (or, with ``export``, the same as xlsx). Nothing is stored."""
    user = cast(User, request.user)
    require(user=user, action=Action.RECONCILE_MARKETING)  # refused: a 403 that says who may
    report: Reconciliation | None = None
    if request.method == "POST":
        form = ReconcileForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                check_upload_size(file_name=upload.name or "", size=upload.size, csv_allowed=True)
                report = reconcile_for(
                    user=user, file_or_rows=upload, as_of=form.cleaned_data["as_of"]
                )
            except UnableToReconcile as error:
                add_problems(form, error.problems)
            except UnreadableSpreadsheet as error:
                form.add_error("file", str(error))
            else:
                if request.POST.get("export") == "xlsx":
                    return _export(report)
    else:
        form = ReconcileForm(initial={"as_of": timezone.localdate()})
    return render(
        request,
        "reconciliation/reconcile.html",
        {"form": form, "report": report},
        status=400 if request.method == "POST" and form.errors else 200,
    )
