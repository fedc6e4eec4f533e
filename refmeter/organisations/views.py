"""User administration pages for unit administrators, the one-time link page and the
forced change of password. Every check is in the services and selectors."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refmeter.common.forms import form_problems
from refmeter.common.listing import export_queryset, list_params, page_queryset
from refmeter.common.tables import export_name, export_refused, xlsx_response
from refmeter.organisations import selectors
from refmeter.organisations.forms import RoleForm, UserFilterForm, UserNewForm
from refmeter.organisations.models import User
from refmeter.organisations.selectors import units_visible_to
from refmeter.organisations.services import users as services
from refmeter.organisations.tokens import activation_tokens


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _filtered(request: HttpRequest) -> tuple[UserFilterForm, QuerySet[User], list[str]]:
    actor = _user(request)
    users = selectors.users_visible(actor=actor)  # refused: a 403 that says who may
    form = UserFilterForm(request.GET, units=units_visible_to(user=actor))
    if not form.is_valid():
        return form, users.none(), form_problems(form)
    data = form.cleaned_data
    return form, selectors.users_filter(
        users, text=data["q"], unit=data["unit"], role=data["role"], state=data["state"]
    ), []  # fmt: skip


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    form, users, problems = _filtered(request)
    now = timezone.now()
    params = list_params(request.GET, sort_keys=list(selectors.USER_SORTS), default_sort="unit")
    listing = page_queryset(
        selectors.with_live_tokens(users, now=now),
        params, columns=selectors.USER_SORTS, request_query=request.GET,
        rows=lambda records: selectors.user_lines(records, now=now),
    )  # fmt: skip
    return render(
        request, "organisations/users.html",
        {"form": form, "listing": listing, "rows": listing.rows, "problems": problems},
    )  # fmt: skip


@login_required
def user_export(request: HttpRequest) -> HttpResponse:
    _form, users, problems = _filtered(request)
    if problems:
        return export_refused(request, problems)
    now = timezone.now()
    params = list_params(request.GET, sort_keys=list(selectors.USER_SORTS), default_sort="unit")
    lines = export_queryset(
        selectors.with_live_tokens(users, now=now), params, columns=selectors.USER_SORTS,
        rows=lambda records: selectors.user_lines(records, now=now),
    )  # fmt: skip
    return xlsx_response(
        title=_("用户"),
        header=[_("工号"), _("姓名"), _("单位编码"), _("单位"), _("岗位角色"), _("手机"), _("状态"),
                _("最近登录"), _("有效接口令牌")],
        rows=([line.username, line.full_name, line.unit_code, line.unit_name, line.role_label,
               line.phone, line.state, line.last_login, line.live_tokens]
              for line in lines),
        name=export_name(_("用户"), timezone.localdate().isoformat(), extension="xlsx"),
    )  # fmt: skip


@login_required
def user_new(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    selectors.users_visible(actor=actor)  # the role check
    form = UserNewForm(request.POST or None, units=units_visible_to(user=actor))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.user_add(
                actor=actor, username=data["username"], full_name=data["full_name"],
                unit=data["unit"], role=data["role"], phone=data["phone"], now=timezone.now(),
            )  # fmt: skip
        except services.UnableToManageUser as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("已新建用户 %(username)s（未启用）：请生成设置密码链接交给本人，或设置初始密码。")
                % {"username": created.username},
            )
            return redirect("organisations:user", user_id=created.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "organisations/user_new.html", {"form": form}, status=status)


def _detail(request: HttpRequest, user_id: int, **extra: object) -> HttpResponse:
    actor = _user(request)
    target = selectors.users_visible(actor=actor).select_related("unit").filter(pk=user_id).first()
    if target is None:
        return render(request, "refusal.html",
                      {"message": _("未找到该用户，或它不属于您所在单位及下属单位。")}, status=404)  # fmt: skip
    now = timezone.now()
    grantable = selectors.grantable_roles(actor=actor, unit=target.unit) if target.unit else []
    return render(
        request, "organisations/user_detail.html",
        {"target": target, "line": selectors.user_lines([target], now=now)[0],
         "manageable": selectors.may_manage(actor=actor, target=target),
         "tokens": selectors.user_tokens(user=target, now=now),
         "role_form": RoleForm(initial={"role": target.role}), "grantable": grantable,
         "pending": not target.is_active and target.deactivated_at is None
         and not target.has_usable_password(), **extra},
        status=400 if extra.get("refusal") else 200,
    )  # fmt: skip


@login_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _detail(request, user_id)


@login_required
@require_POST
def user_operation(request: HttpRequest, user_id: int, operation: str) -> HttpResponse:
    actor, now = _user(request), timezone.now()
    confirmed = request.POST.get("confirm") == "1"
    try:
        if operation == "role":
            services.user_role_change(
                actor=actor, user_id=user_id, role=request.POST.get("role", ""), now=now
            )
            messages.success(request, _("岗位角色已修改。"))
        elif operation == "deactivate":
            services.user_deactivate(actor=actor, user_id=user_id, confirmed=confirmed, now=now)
            messages.success(request, _("用户已停用。"))
        elif operation == "reactivate":
            services.user_reactivate(actor=actor, user_id=user_id, now=now)
            messages.success(request, _("用户已启用。"))
        elif operation == "reset":
            password = services.user_password_reset(
                actor=actor, user_id=user_id, confirmed=confirmed, now=now
            )
            return _detail(request, user_id, temporary_password=password)
        elif operation == "link":
            uid, token = services.user_activation_link(actor=actor, user_id=user_id, now=now)
            link = request.build_absolute_uri(reverse("organisations:activate", args=[uid, token]))
            return _detail(request, user_id, activation_link=link)
        else:
            return render(request, "refusal.html", {"message": _("未知的操作。")}, status=404)
    except services.UnableToManageUser as error:
        return _detail(request, user_id, refusal=str(error))
    return redirect("organisations:user", user_id=user_id)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.api_token_revoke(
            actor=_user(request), token_id=token_id,
            confirmed=request.POST.get("confirm") == "1", now=timezone.now(),
        )  # fmt: skip
    except services.UnableToManageUser as error:
        user_id = request.POST.get("user", "")
        if user_id.isascii() and user_id.isdigit():
            return _detail(request, int(user_id), refusal=str(error))
        return render(request, "refusal.html", {"message": str(error)}, status=400)
    messages.success(request, _("接口令牌已吊销。"))
    return redirect("organisations:user", user_id=token.user_id)


def activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The one-time link: a new user sets their first password (Django's validators)."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        pk = 0
    user = User.objects.filter(pk=pk).first()
    if (
        user is None
        or user.deactivated_at is not None
        or not activation_tokens.check_token(user, token)
    ):
        return render(request, "refusal.html", {
            "message": _("链接无效或已过期：链接只能使用一次，请联系本单位系统管理员重新生成。")
        }, status=400)  # fmt: skip
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_activate(user=user, password=form.cleaned_data["new_password1"],
                               now=timezone.now())  # fmt: skip
        messages.success(request, _("密码已设置，请登录。"))
        return redirect("login")
    return render(request, "organisations/activate.html", {"form": form, "target": user},
                  status=400 if request.method == "POST" else 200)  # fmt: skip


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        services.user_password_changed(user=user, now=timezone.now())
        messages.success(request, _("密码已修改。"))
        target = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("home")
        return redirect(target)
    return render(request, "organisations/password_change.html",
                  {"form": form, "next": request.GET.get("next", "")},
                  status=400 if request.method == "POST" else 200)  # fmt: skip
