from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from refmeter.common.forms import add_problems, form_problems
from refmeter.common.listing import ListParams, export_queryset, list_params, page_queryset
from refmeter.common.tables import (
    Sheet,
    export_name,
    export_refused,
    workbook_response,
    xlsx_response,
)
from refmeter.organisations.models import User
from refmeter.organisations.permissions import Action, ActionNotAllowed
from refmeter.organisations.selectors import user_may
from refmeter.registry import selectors, services
from refmeter.registry.forms import (
    GroupHistoryFilterForm,
    GroupSearchForm,
    GroupTermsForm,
    PointEditForm,
)


def _user(request: HttpRequest) -> User:
    # Every view here is behind login_required, so the user is a real User.
    return cast(User, request.user)


# A change of many fields is a tall line: ten lines to a page keep the page short.
HISTORY_PAGE_SIZE = 10


def today() -> dt.date:
    return timezone.localdate()


def registry_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged-in only; refusals become a page that says why."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except selectors.RecordNotVisible as error:
            return render(request, "refusal.html", {"message": str(error)}, status=404)
        except ActionNotAllowed as error:
            return render(request, "refusal.html", {"message": str(error)}, status=403)

    return wrapper


def _page(request: HttpRequest, items: Any) -> Any:
    paginator = Paginator(items, settings.REFMETER_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


# The group list's sorts: the page's main columns, each with its ORDER BY.
GROUP_SORTS = {
    "customer": ("customer__name", "created_date"),
    "created": ("created_date",),
    "meter": ("meter_asset_number",),
    "unit": ("unit__name", "customer__name"),
    "status": ("status", "customer__name"),
}


def _group_search(request: HttpRequest, user: User) -> tuple[GroupSearchForm, bool, Any]:
    """The search form, whether its filters are usable, and the groups they find."""
    form = GroupSearchForm(request.GET or None, user=user)
    filters: dict[str, Any] = {}
    valid = not form.is_bound or form.is_valid()
    if form.is_bound and valid:
        filters = {key: value for key, value in form.cleaned_data.items() if value}
        if "unit" in filters:
            filters["unit_id"] = filters.pop("unit")
    groups = selectors.group_search(user=user, as_of=today(), **filters)
    return form, valid, groups


@registry_view
def group_search(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, valid, groups = _group_search(request, user)
    if not valid:
        # a wrong filter (an inverted date range) is shown, not answered with every group
        groups = groups.none()
    listing = page_queryset(
        groups,
        list_params(request.GET, sort_keys=list(GROUP_SORTS), default_sort="customer"),
        columns=GROUP_SORTS,
        tie_breaker="id",
        request_query=request.GET,
        rows=lambda page: selectors.group_rows(groups=page, as_of=today()),
    )
    return render(
        request,
        "registry/group_search.html",
        {
            "form": form,
            "problems": [] if valid else form_problems(form),
            "listing": listing,
            "rows": listing.rows,
        },
        status=200 if valid else 400,
    )


@registry_view
def group_search_export(request: HttpRequest) -> HttpResponse:
    """The groups the search finds with its filters and sort, every page of them."""
    user = _user(request)
    form, valid, groups = _group_search(request, user)
    if not valid:
        return export_refused(request, form_problems(form))
    as_of = today()
    params = list_params(request.GET, sort_keys=list(GROUP_SORTS), default_sort="customer")
    rows = (
        [row.unit_name, row.customer_name, row.base_account_number, row.base_name,
         row.base_address, row.device_type, row.meter_asset_number, row.created_date,
         row.status_label, row.active_points]
        for row in export_queryset(
            groups, params, columns=GROUP_SORTS, tie_breaker="id",
            rows=lambda batch: selectors.group_rows(groups=batch, as_of=as_of),
        )
    )  # fmt: skip
    return xlsx_response(
        title=_("基准户查询"),
        header=[_("供电单位"), _("客户"), _("基准户号"), _("基准户名"), _("设备地址"), _("设备类型"),
                _("电能表资产编号"), _("立户日期"), _("状态"), _("在用点数")],
        rows=rows,
        name=export_name(_("基准户查询"), user.unit.name if user.unit else "",
                         as_of.isoformat(), extension="xlsx"),
    )  # fmt: skip


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _history_form(request: HttpRequest) -> GroupHistoryFilterForm:
    return GroupHistoryFilterForm(
        request.GET,
        actions=[(key, str(label)) for key, label in selectors.ACTION_LABELS.items()],
    )


def _history_filter(data: dict[str, Any]) -> selectors.HistoryFilter:
    return selectors.HistoryFilter(
        action=data.get("history_action", ""),
        since=_day_start(data["history_from"]) if data.get("history_from") else None,
        # The last day counts whole: up to the start of the next.
        before=_day_start(data["history_to"] + dt.timedelta(days=1))
        if data.get("history_to") else None,
    )  # fmt: skip


def _history_params(request: HttpRequest) -> ListParams:
    return list_params(
        request.GET, sort_keys=list(selectors.HISTORY_SORTS), default_sort="-time",
        page_size=HISTORY_PAGE_SIZE, prefix="history_",
    )  # fmt: skip


@registry_view
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    user = _user(request)
    history_form = _history_form(request)
    valid = history_form.is_valid()
    data = history_form.cleaned_data if valid else {}
    shown = selectors.group_page(
        user=user,
        group_id=group_id,
        as_of=today(),
        page_number=request.GET.get("page"),
        page_size=settings.REFMETER_PAGE_SIZE,
        history_params=_history_params(request),
        history_filter=_history_filter(data),
        request_query=request.GET,
    )  # fmt: skip
    history = shown.history_listing
    assert history is not None
    points_query = request.GET.copy()
    points_query.pop("page", None)
    return render(
        request,
        "registry/group_detail.html",
        {
            "group": shown.detail,
            "page": shown.page,
            "query": points_query.urlencode(),
            "points": shown.points,
            "multiplier_history": shown.multiplier_history,
            "terms_history": shown.terms_history,
            "may_manage": user_may(user=user, action=Action.MANAGE_REGISTRY),
            "history_form": history_form,
            "history_problems": [] if valid else form_problems(history_form),
            # An inverted date range is shown as such, not as an empty history.
            "history_listing": history,
            "history": history.rows if valid else [],
            "may_export": user_may(user=user, action=Action.EXPORT_REGISTRY),
        },
    )


@registry_view
def group_history_export(request: HttpRequest, group_id: int) -> HttpResponse:
    """The group's change history with the page's filters and order, every page of it."""
    history_form = _history_form(request)
    if not history_form.is_valid():
        return export_refused(request, form_problems(history_form))
    found = selectors.group_history_export(
        user=_user(request), group_id=group_id, params=_history_params(request),
        history_filter=_history_filter(history_form.cleaned_data),
    )  # fmt: skip
    rows = (
        [line.occurred_at, line.actor_name, line.subject_label, line.action,
         "\n".join(f"{field}：{_shown(before)} → {_shown(after)}"
                   for field, before, after in line.changes),
         line.reason, line.work_order]
        for line in found.lines
    )  # fmt: skip
    return xlsx_response(
        title=_("群组变更记录"),
        header=[_("时间"), _("操作人"), _("对象"), _("操作"), _("内容"), _("原因"), _("工单")],
        rows=rows,
        name=export_name(_("群组变更记录"), found.base_account_number, today().isoformat(),
                         extension="xlsx"),
    )  # fmt: skip


def _shown(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


@registry_view
@require_http_methods(["GET", "POST"])
def group_terms(request: HttpRequest, group_id: int) -> HttpResponse:
    """Change the CT ratio or the tariff code from a date on; earlier days keep the old."""
    user = _user(request)
    if not user_may(user=user, action=Action.MANAGE_REGISTRY):
        raise ActionNotAllowed(_("您的岗位角色无权执行此操作。"))
    detail = selectors.group_detail(user=user, group_id=group_id, as_of=today())
    form = GroupTermsForm(
        request.POST or None,
        initial={
            "ct_ratio": detail.ct_ratio,
            "tariff_code": detail.tariff_code,
            "version": detail.version,
        },
    )
    stale: services.UnableToSaveStaleEdit | None = None
    if request.method == "POST" and form.is_valid():
        from_date = form.cleaned_data["from_date"]
        # Compared with what held on the date chosen, which may differ from today's values.
        [held] = selectors.group_terms_pieces(
            group=selectors.group_get(user=user, group_id=group_id),
            start=from_date, end=from_date + dt.timedelta(days=1),
        )  # fmt: skip
        values = {
            key: form.cleaned_data[key]
            for key in ("ct_ratio", "tariff_code")
            if form.cleaned_data[key] != getattr(held, key)
        }
        if not values:
            form.add_error(
                None,
                _("%(day)s 起的互感器倍率和电价代码已经是这些值。")
                % {"day": from_date.isoformat()},
            )
        else:
            try:
                services.group_update(
                    actor=user, group_id=group_id, now=timezone.now(),
                    reason=form.cleaned_data["reason"],
                    terms_from_date=form.cleaned_data["from_date"],
                    expected_version=form.cleaned_data["version"], **values,
                )  # fmt: skip
            except services.UnableToSaveStaleEdit as error:
                stale = error
                form.with_version(error.current_version)
            except services.UnableToChangeRegistry as error:
                for problem in error.problems:
                    form.add_error(None, problem)
            else:
                messages.success(request, _("已记录，自执行日期起生效。"))
                return redirect("registry:group_detail", group_id=group_id)
    return render(
        request,
        "registry/group_terms.html",
        {
            "group": detail,
            "form": form,
            "stale": stale,
            "terms_history": selectors.group_terms_history(group_id=group_id),
        },
        status=409 if stale else (400 if form.is_bound else 200),
    )


def point_export_header() -> list[str]:
    return [
        _("序号"), _("户号"), _("户名"), _("设备地址"), _("就近户号/局号"), _("接入点编号"),
        _("接入点名称"), _("台区编号"), _("台区名称"), _("户类型"), _("状态"), _("接电日期"),
        _("停用日期"), _("基准户户号"),
    ]  # fmt: skip


@registry_view
def group_export(request: HttpRequest, group_id: int) -> HttpResponse:
    user = _user(request)
    if not user_may(user=user, action=Action.EXPORT_REGISTRY):
        raise ActionNotAllowed(_("您的岗位角色无权执行此操作。"))
    detail = selectors.group_detail(user=user, group_id=group_id, as_of=today())
    rows = (
        [
            index,
            row.account_number,
            row.name,
            row.device_address,
            row.nearby_number,
            row.access_point_number,
            row.access_point_name,
            row.area_number,
            row.area_name,
            row.kind_label,
            row.status_label,
            row.active_from_date,
            row.active_to_date,
            row.base_account_number,
        ]
        for index, row in enumerate(
            selectors.point_rows_iter(user=user, group_id=group_id),
            start=1,
        )
    )
    return xlsx_response(
        title=_("虚拟子户清单"),
        header=point_export_header(),
        rows=rows,
        name=export_name(
            _("群组点位清单"), detail.base_account_number, today().isoformat(), extension="xlsx"
        ),
    )


@registry_view
@require_http_methods(["GET", "POST"])
def point_detail(request: HttpRequest, point_id: int) -> HttpResponse:
    user = _user(request)
    point = selectors.point_detail(user=user, point_id=point_id)
    may_edit = user_may(user=user, action=Action.EDIT_SUB_ACCOUNT)
    stale: services.UnableToSaveStaleEdit | None = None
    if request.method == "POST":
        form = PointEditForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            try:
                services.point_update(
                    actor=user,
                    point_id=point_id,
                    now=timezone.now(),
                    expected_version=values.pop("version"),
                    **values,
                )
            except services.UnableToSaveStaleEdit as error:
                stale = error
                form.with_version(error.current_version)
            except services.UnableToChangeRegistry as error:
                add_problems(form, error.problems)
            else:
                return redirect("registry:point_detail", point_id=point_id)
    else:
        form = PointEditForm(
            initial={
                "name": point.name,
                "device_address": point.device_address,
                "area_number": point.area_number,
                "access_point_number": point.access_point_number,
                "version": point.version,
            }
        )
    status = 200
    if request.method == "POST":
        status = 409 if stale else 400
    return render(
        request,
        "registry/point_detail.html",
        {
            "point": point,
            "form": form,
            "stale": stale,
            "may_edit": may_edit,
            "history": selectors.history_for_people(
                selectors.point_history(user=user, point_id=point_id)
            ),
        },
        status=status,
    )


@registry_view
def statistics(request: HttpRequest) -> HttpResponse:
    stats = selectors.point_statistics(user=_user(request), as_of=today())
    areas = _page(request, stats.by_area)
    return render(request, "registry/statistics.html", {"stats": stats, "areas": areas})


@registry_view
def statistics_export(request: HttpRequest) -> HttpResponse:
    """The statistics page's three tables, one sheet each (every area, not one page)."""
    user = _user(request)
    stats = selectors.point_statistics(user=user, as_of=today())
    points = _("在用点数")
    return workbook_response(
        sheets=[
            Sheet(title=_("按客户"), header=[_("序号"), _("客户"), points],
                  rows=[*([index, row["customer"], row["points"]]
                          for index, row in enumerate(stats.by_customer, start=1)),
                        [None, _("合计"), stats.total]]),
            Sheet(title=_("按设备类型"), header=[_("设备类型"), points],
                  rows=([row["device_type"], row["points"]] for row in stats.by_device_type)),
            Sheet(title=_("按台区"), header=[_("台区编号"), _("台区名称"), points],
                  rows=([row["area_number"], row["area"], row["points"]]
                        for row in stats.by_area)),
        ],
        name=export_name(_("点位统计"), user.unit.name if user.unit else "",
                         stats.as_of.isoformat(), extension="xlsx"),
    )  # fmt: skip
