"""The order lists as workbooks: the same rows as the pages, all their pages, in the
page's order; the same filters, unit scoping and refusals (a role refused raises
ActionNotAllowed in the selector, answered 403 with its message)."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.forms import form_problems
from refmeter.common.listing import export_queryset, list_params
from refmeter.common.tables import export_name, export_refused, xlsx_response
from refmeter.organisations.models import User
from refmeter.organisations.selectors import units_visible_to
from refmeter.workorders import forms, selectors
from refmeter.workorders.selectors import OrderRow


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _unit_name(user: User) -> str:
    return user.unit.name if user.unit else ""


def _due(row: OrderRow) -> object:
    return _("无法计算") if row.archive_due_unknown else row.archive_due_date


@login_required
def order_list_export(request: HttpRequest) -> HttpResponse:
    """The order list's tab with its filters and sort, every page of it."""
    user = _user(request)
    view = forms.order_view(request.GET.get("view"))
    form = forms.OrderFilterForm(
        request.GET, units=[(unit.pk, unit.name) for unit in units_visible_to(user=user)]
    )
    if not form.is_valid():
        return export_refused(request, form_problems(form))
    orders = selectors.orders_search(user=user, view=view, **form.search_filters())
    params = list_params(
        request.GET, sort_keys=list(selectors.ORDER_SORTS), default_sort="-created"
    )
    rows = (
        [row.number, row.kind_label, row.step_label, row.customer_name, row.base_account_number,
         row.lines, row.created_at, _due(row)]
        for row in export_queryset(
            orders, params, columns=selectors.ORDER_SORTS, tie_breaker="-id",
            rows=lambda batch: selectors.order_rows(orders=batch),
        )
    )  # fmt: skip
    view_label = str(dict(forms.ORDER_VIEWS)[view])
    return xlsx_response(
        title=_("工单"),
        header=[_("工单号"), _("业务类型"), _("当前环节"), _("客户"), _("基准户号"), _("点位数"),
                _("受理时间"), _("归档期限")],
        rows=rows,
        name=export_name(_("工单"), view_label, _unit_name(user),
                         timezone.localdate().isoformat(), extension="xlsx"),
    )  # fmt: skip


@login_required
def archive_deadlines_export(request: HttpRequest) -> HttpResponse:
    """The three lists of the deadlines page in one sheet, each row saying which."""
    user = _user(request)
    today = timezone.localdate()
    deadlines = selectors.archive_deadlines(user=user, today=today)
    sections = [
        (_("已超期"), deadlines.overdue),
        (_("2 个工作日内到期"), deadlines.due_soon),
        (_("期限无法计算（节假日未录入）"), deadlines.unknown),
    ]
    rows = (
        [label, row.number, row.kind_label, row.customer_name, row.base_account_number,
         row.created_at, _due(row)]
        for label, section in sections
        for row in section
    )  # fmt: skip
    return xlsx_response(
        title=_("归档期限"),
        header=[_("类别"), _("工单号"), _("业务类型"), _("客户"), _("基准户号"), _("受理时间"),
                _("归档期限")],
        rows=rows,
        name=export_name(_("归档期限"), _unit_name(user), today.isoformat(), extension="xlsx"),
    )  # fmt: skip
