from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.common.forms import add_problems, form_problems
from refmeter.common.listing import list_params, page_queryset
from refmeter.common.pdf import document_pdf
from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
from refmeter.common.tables import attachment, export_name
from refmeter.organisations.models import User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.selectors import units_visible_to
from refmeter.registry.selectors import RecordNotVisible
from refmeter.spreadsheets.documents import application_list_template, list_pdf, list_xlsx
from refmeter.workorders import corrections, documents, forms, selectors, services
from refmeter.workorders.models import OrderKind, Step

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _now() -> dt.datetime:
    return timezone.now()


def order_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except (selectors.OrderNotVisible, RecordNotVisible) as error:
            return render(request, "refusal.html", {"message": str(error)}, status=404)
        except ActionNotAllowed as error:
            return render(request, "refusal.html", {"message": str(error)}, status=403)

    return wrapper


def order_action(view: Callable[..., Any]) -> Callable[..., HttpResponseBase]:
    """A step action: do it, show what went wrong if anything, and return to the order."""

    @order_page
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, order_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            message = view(request, order_id, *args, **kwargs)
        except services.UnableToSaveStaleOrder as error:
            return _refused_page(request, order_id, error, stale=error, **kwargs)
        except services.StepNotAllowed as error:
            return render(request, "refusal.html", {"message": str(error)}, status=403)
        except services.UnableToProgressOrder as error:
            return _refused_page(request, order_id, error, **kwargs)
        except UnreadableSpreadsheet as error:
            refused = services.UnableToProgressOrder(str(error))
            return _refused_page(request, order_id, refused, **kwargs)
        if message:
            messages.success(request, message)
        return redirect("workorders:detail", order_id=order_id)

    return wrapper


class InvalidStepForm(services.UnableToProgressOrder):
    """A step form that did not validate: shown again bound, each error beside its field."""

    def __init__(self, form: Any):
        super().__init__(form_problems(form))
        self.form = form


def _valid(form_class: type, request: HttpRequest) -> dict[str, Any]:
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        raise InvalidStepForm(form)
    return dict(form.cleaned_data)


def _version(request: HttpRequest) -> int | None:
    """The order's version the page was showing (the hidden ``version`` of every step form);
    none given: no check."""
    value = request.POST.get("version", "").strip()
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() else 0


# ---------------------------------------------------------------- lists


@order_page
def order_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    view = forms.order_view(request.GET.get("view"))
    form = forms.OrderFilterForm(
        request.GET, units=[(unit.pk, unit.name) for unit in units_visible_to(user=user)]
    )
    valid = form.is_valid()
    orders = selectors.orders_search(
        user=user, view=view, **(form.search_filters() if valid else {})
    )
    if not valid:
        # A wrong filter (an inverted date range) is shown, not answered with no orders.
        orders = orders.none()
    listing = page_queryset(
        orders,
        list_params(request.GET, sort_keys=list(selectors.ORDER_SORTS), default_sort="-created"),
        columns=selectors.ORDER_SORTS, tie_breaker="-id", request_query=request.GET,
        rows=lambda page: selectors.order_rows(orders=page),
    )  # fmt: skip
    return render(
        request,
        "workorders/order_list.html",
        {
            "view": view,
            "views": forms.ORDER_VIEWS,
            "form": form,
            "problems": [] if valid else form_problems(form),
            "listing": listing,
            "rows": listing.rows,
        },
    )


@order_page
def archive_deadlines(request: HttpRequest) -> HttpResponse:
    deadlines = selectors.archive_deadlines(user=_user(request), today=timezone.localdate())
    return render(request, "workorders/deadlines.html", {"deadlines": deadlines})


# ---------------------------------------------------------------- starting


@order_page
def new_install(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = forms.NewInstallForm(request.POST or None)
    form.fields["customer"].choices = selectors.customers_for_new_install(user=user)  # type: ignore[attr-defined]
    form.fields["device_type"].choices = selectors.device_type_choices()  # type: ignore[attr-defined]
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        customer_id = data.pop("customer")
        device_type_id = data.pop("device_type")
        try:
            order = services.order_new_install_start(
                actor=user,
                customer_id=customer_id,
                device_type_id=device_type_id,
                application=services.Application(**data),
                now=_now(),
            )
        except services.StepNotAllowed as error:
            add_problems(form, error.problems)
            status = 403
        except services.UnableToProgressOrder as error:
            add_problems(form, error.problems)
        else:
            return redirect("workorders:detail", order_id=order.pk)
    return render(
        request,
        "workorders/order_start.html",
        {"form": form, "kind": _("新装")},
        status=status,
    )


@order_page
def group_order_start(request: HttpRequest, group_id: int, kind: str) -> HttpResponse:
    if kind not in (OrderKind.CHANGE, OrderKind.CLOSURE):
        return render(request, "refusal.html", {"message": _("未知的业务类型。")}, status=404)
    form = forms.ApplicationForm(request.POST or None)
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_group_start(
                actor=_user(request),
                group_id=group_id,
                kind=kind,
                application=services.Application(**form.cleaned_data),
                now=_now(),
            )
        except services.StepNotAllowed as error:
            add_problems(form, error.problems)
            status = 403
        except services.UnableToProgressOrder as error:
            add_problems(form, error.problems)
        else:
            return redirect("workorders:detail", order_id=order.pk)
    return render(
        request,
        "workorders/order_start.html",
        {"form": form, "kind": OrderKind(kind).label, "group_id": group_id},
        status=status,
    )


# ---------------------------------------------------------------- the order


@order_page
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return _detail_page(request, order_id)


def _detail_page(
    request: HttpRequest,
    order_id: int,
    *,
    bound: dict[str, Any] | None = None,
    typed: dict[int, dict[str, str]] | None = None,
    note: str = "",
    stale: services.UnableToSaveStaleOrder | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The order page; after a refused action, with the user's input (``bound`` forms,
    ``typed`` per-line values, the ``note``), the ``problems`` that belong to no form, and
    after a stale one what was changed meanwhile."""
    detail = selectors.order_detail(
        user=_user(request), order_id=order_id, as_of=timezone.localdate()
    )
    typed = typed or {}
    problems = list(problems or [])
    for name, form in (bound or {}).items():
        if form.errors and not _form_shown(name, detail):
            problems += form_problems(form)  # the form is not on the page at this step
    for problem in problems:  # the refusals no form on the page holds, above it
        messages.error(request, problem)
    context = {
        "detail": detail,
        "order": detail.order,
        "line_rows": [(line, typed.get(line.line_id, {})) for line in detail.lines],
        "note": note,
        "stale": stale,
        "upload_form": forms.ListUploadForm(),
        "change_form": forms.ChangeLineForm(),
        "contract_form": forms.ContractForm(initial=detail.contract or {}),
        "connection_form": forms.ConnectionForm(
            initial={"connection_date": detail.connection_date, **detail.meter}
        ),
        "closure_form": forms.ClosureForm(initial={"closure_date": detail.closure_date}),
        "all_dates_form": forms.AllDatesForm(),
        "installation_file_form": forms.InstallationFileForm(),
        "document_form": forms.DocumentForm(),
        "return_form": forms.ReturnForm(),
        "application_form": forms.ApplicationEditForm(initial=detail.application),
        "withdraw_form": forms.WithdrawForm(),
        **(bound or {}),
    }
    return render(request, "workorders/order_detail.html", context, status=status)


# The steps at which each step form is on the page (none: at every step).
FORM_STEPS: dict[str, tuple[str, ...]] = {
    "change_form": (Step.ACCEPTANCE, Step.SURVEY),
    "contract_form": (Step.CONTRACT,),
    "connection_form": (Step.CONNECTION,),
    "closure_form": (Step.REMOVAL,),
    "all_dates_form": (Step.INSTALLATION,),
    "document_form": (Step.ARCHIVE,),
}


def _form_shown(name: str, detail: selectors.OrderDetail) -> bool:
    if name == "application_form":
        return detail.may_edit_application
    if name == "withdraw_form":
        return detail.may_withdraw
    steps = FORM_STEPS.get(name)
    return detail.may_act and (not steps or detail.order.step in steps)


# The step form each action posts, to show it again as the user filled it.
POSTED_FORMS: dict[str, tuple[str, type]] = {
    "change_line": ("change_form", forms.ChangeLineForm),
    "contract": ("contract_form", forms.ContractForm),
    "connection": ("connection_form", forms.ConnectionForm),
    "closure": ("closure_form", forms.ClosureForm),
    "return": ("return_form", forms.ReturnForm),
    "application_edit": ("application_form", forms.ApplicationEditForm),
    "withdraw": ("withdraw_form", forms.WithdrawForm),
}


def _refused_page(
    request: HttpRequest,
    order_id: int,
    error: services.UnableToProgressOrder,
    *,
    stale: services.UnableToSaveStaleOrder | None = None,
    line_id: int | None = None,
) -> HttpResponse:
    """Nothing was done: show the order again keeping what the user typed, the form's errors
    beside their fields, and for a stale order (someone changed it since the page was read)
    the page at the current version with the changes meanwhile (409); else 400."""
    action = request.resolver_match.url_name if request.resolver_match else ""
    bound: dict[str, Any] = {}
    problems = [] if stale else list(error.problems)
    if isinstance(error, InvalidStepForm):
        name = next((name for key, (name, _cls) in POSTED_FORMS.items() if key == action), "")
        if action == "installation":
            name = "all_dates_form"
        elif action == "document_upload":
            name = "document_form"
        if name:
            bound[name] = error.form
            problems = []
    elif action in POSTED_FORMS:
        name, form_class = POSTED_FORMS[action]
        form = form_class(request.POST)
        form.is_valid()
        if not stale:
            add_problems(form, error.problems)
            problems = []
        bound[name] = form
    elif action == "installation" and request.POST.get("all_lines"):
        bound["all_dates_form"] = forms.AllDatesForm(request.POST)
    typed: dict[int, dict[str, str]] = {}
    for key in request.POST:
        number = key.removeprefix("date_")
        if key.startswith("date_") and number.isdigit():
            typed.setdefault(int(number), {})["date"] = request.POST.get(key, "")
    if action == "line_place" and line_id is not None:
        typed.setdefault(line_id, {})["place"] = request.POST.get("access_point_number", "")
    return _detail_page(
        request,
        order_id,
        bound=bound,
        typed=typed,
        note=request.POST.get("note", "") if action == "complete" else "",
        stale=stale,
        problems=problems,
        status=409 if stale else 400,
    )


def _sheet_rows(request: HttpRequest) -> list[list[object]]:
    upload = request.FILES.get("file")
    if upload is None:
        raise services.UnableToProgressOrder(_("请选择要上传的文件。"))
    return open_sheets(upload)[0].rows  # its size and content are checked before reading


@order_action
def lines_import(request: HttpRequest, order_id: int) -> str:
    summary = services.order_lines_import(
        actor=_user(request), order_id=order_id, rows=_sheet_rows(request), now=_now(),
        expected_version=_version(request),
    )  # fmt: skip
    return _("已导入：新增 %(add)d 个，取消 %(cancel)d 个。%(grouping)s") % {
        "add": summary.adding,
        "cancel": summary.cancelling,
        "grouping": summary.grouping,
    }


@order_action
def change_line_add(request: HttpRequest, order_id: int) -> str:
    services.order_change_line_add(
        actor=_user(request), order_id=order_id, now=_now(), expected_version=_version(request),
        **_valid(forms.ChangeLineForm, request),
    )  # fmt: skip
    return _("已加入变更点位。")


@order_action
def base_line_choose(request: HttpRequest, order_id: int, line_id: int) -> str:
    services.order_base_line_choose(
        actor=_user(request), order_id=order_id, line_id=line_id, now=_now(),
        expected_version=_version(request),
    )  # fmt: skip
    return _("已设为基准户。")


@order_action
def survey_resolve(request: HttpRequest, order_id: int) -> str:
    result = services.order_survey_resolve(
        actor=_user(request), order_id=order_id, now=_now(), expected_version=_version(request)
    )
    return _(
        "生成户号 %(numbers)d 个，自动解析接入点 %(resolved)d 个，待人工确认 %(left)d 个。"
    ) % {
        "numbers": result.numbers_issued,
        "resolved": result.resolved,
        "left": len(result.unresolved),
    }


@order_action
def line_place_set(request: HttpRequest, order_id: int, line_id: int) -> str:
    data = _valid(forms.PlaceForm, request)
    services.order_line_place_set(
        actor=_user(request), order_id=order_id, line_id=line_id, now=_now(),
        expected_version=_version(request), **data,
    )  # fmt: skip
    return _("接入点已更正。")


@order_action
def contract_save(request: HttpRequest, order_id: int) -> str:
    services.contract_save(
        actor=_user(request), order_id=order_id, now=_now(), expected_version=_version(request),
        **_valid(forms.ContractForm, request),
    )  # fmt: skip
    return _("合同已保存。")


@order_action
def connection_save(request: HttpRequest, order_id: int) -> str:
    data = _valid(forms.ConnectionForm, request)
    data["ct_ratio"] = data.get("ct_ratio") or 1
    services.connection_record(
        actor=_user(request), order_id=order_id, now=_now(), expected_version=_version(request),
        **data,
    )  # fmt: skip
    return _("接电信息已保存。")


@order_action
def closure_save(request: HttpRequest, order_id: int) -> str:
    services.closure_record(
        actor=_user(request), order_id=order_id, now=_now(), expected_version=_version(request),
        **_valid(forms.ClosureForm, request),
    )  # fmt: skip
    return _("销户日期已保存。")


@order_action
def installation_save(request: HttpRequest, order_id: int) -> str:
    user = _user(request)
    if request.FILES.get("file"):
        count = services.installation_dates_import(
            actor=user, order_id=order_id, rows=_sheet_rows(request), now=_now(),
            expected_version=_version(request),
        )  # fmt: skip
    elif request.POST.get("all_lines"):
        count = services.installation_dates_set(
            actor=user,
            order_id=order_id,
            now=_now(),
            all_lines=_valid(forms.AllDatesForm, request)["all_lines"],
            expected_version=_version(request),
        )
    else:
        by_line: dict[int, dt.date] = {}
        problems = []
        for key in request.POST:
            value = request.POST.get(key, "")
            if not key.startswith("date_") or not value:
                continue
            try:
                by_line[int(key.removeprefix("date_"))] = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(_("“%(value)s”不是日期。") % {"value": value})
        if problems:
            raise services.UnableToProgressOrder(problems)
        count = services.installation_dates_set(
            actor=user, order_id=order_id, now=_now(), by_line=by_line,
            expected_version=_version(request),
        )  # fmt: skip
    return _("已录入安装日期 %(count)d 个。") % {"count": count}


@order_action
def document_upload(request: HttpRequest, order_id: int) -> str:
    data = _valid(forms.DocumentForm, request)
    services.document_upload(
        actor=_user(request), order_id=order_id, kind=data["kind"], upload=data["file"],
        now=_now(), expected_version=_version(request),
    )  # fmt: skip
    return _("资料已上传。")


# Completing these steps cannot be undone: the points go live or are removed, or the order
# is filed. The user ticks a confirmation, and it is checked here, not only in the browser.
STEPS_CONFIRMED = {Step.INSTALLATION, Step.REMOVAL, Step.ARCHIVE}


@order_action
def step_complete(request: HttpRequest, order_id: int) -> str:
    if request.POST.get("confirm") != "on":
        step = selectors.order_get(user=_user(request), order_id=order_id).step
        if step in STEPS_CONFIRMED:
            raise services.UnableToProgressOrder(
                [_("提交后档案变更生效（归档后工单办结），不能退回：请勾选“我已核对，确认提交”。")]
            )
    order = services.order_step_complete(
        actor=_user(request), order_id=order_id, now=_now(), note=request.POST.get("note", ""),
        expected_version=_version(request),
    )  # fmt: skip
    return _("已提交，工单进入“%(step)s”。") % {"step": order.get_step_display()}


@order_action
def step_return(request: HttpRequest, order_id: int) -> str:
    order = services.order_step_return(
        actor=_user(request), order_id=order_id, now=_now(), expected_version=_version(request),
        **_valid(forms.ReturnForm, request),
    )  # fmt: skip
    return _("已退回到“%(step)s”。") % {"step": order.get_step_display()}


@order_action
def application_edit(request: HttpRequest, order_id: int) -> str:
    data = _valid(forms.ApplicationEditForm, request)
    reason = data.pop("reason")
    corrections.order_application_edit(
        actor=_user(request), order_id=order_id, application=services.Application(**data),
        reason=reason, now=_now(), expected_version=_version(request),
    )  # fmt: skip
    return _("申请信息已修改，修改前后已记入办理记录。")


@order_action
def withdraw(request: HttpRequest, order_id: int) -> str:
    data = _valid(forms.WithdrawForm, request)
    corrections.order_withdraw(
        actor=_user(request), order_id=order_id, reason=data["reason"],
        confirmed=data["confirm"], now=_now(), expected_version=_version(request),
    )  # fmt: skip
    return _("工单已撤销。")


# ---------------------------------------------------------------- files


@order_page
def order_document(request: HttpRequest, order_id: int, name: str, fmt: str) -> HttpResponse:
    order = selectors.order_get(user=_user(request), order_id=order_id)
    builders = {"confirmation": documents.confirmation_list, "annex": documents.contract_annex}
    if name == "acceptance" and fmt == "pdf":
        form = documents.acceptance_form(order)
        response = HttpResponse(document_pdf(form), content_type="application/pdf")
        response["Content-Disposition"] = attachment(
            export_name(form.title, order.number, extension=fmt)
        )
        return response
    if name not in builders or fmt not in ("pdf", "xlsx"):
        return render(request, "refusal.html", {"message": _("没有这种文件。")}, status=404)
    document = builders[name](order)
    if fmt == "pdf":
        content, content_type = list_pdf(document), "application/pdf"
    else:
        content, content_type = list_xlsx(document), XLSX
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = attachment(
        export_name(document.title, order.number, extension=fmt)
    )
    return response


@order_page
def archive_file(request: HttpRequest, order_id: int, document_id: int) -> HttpResponseBase:
    document = selectors.document_get(
        user=_user(request), order_id=order_id, document_id=document_id
    )
    return FileResponse(
        document.file.open("rb"), as_attachment=True, filename=document.original_name
    )


@login_required
def application_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(application_list_template(), content_type=XLSX)
    response["Content-Disposition"] = attachment(
        export_name(_("接电申请清单模板"), extension="xlsx")
    )
    return response
