from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import text_field
from refmeter.organisations.models import Role, SupplyUnit

STATES = [
    ("", _("全部")),
    ("active", _("在用")),
    ("must_change", _("须修改密码")),
    ("inactive", _("停用或待设置密码")),
]


class UserFilterForm(forms.Form):
    q = text_field(_("工号或姓名"), 150)
    unit = forms.ModelChoiceField(
        label=_("单位"), queryset=SupplyUnit.objects.none(), required=False,
        error_messages={"invalid_choice": _("所选单位不存在或不属于您的单位。")},
    )  # fmt: skip
    role = forms.ChoiceField(label=_("岗位角色"), choices=[("", _("全部")), *Role.choices],
                             required=False)  # fmt: skip
    state = forms.ChoiceField(label=_("状态"), choices=STATES, required=False)

    def __init__(self, *args, units=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class UserNewForm(forms.Form):
    username = text_field(_("工号"), 150, required=True)
    full_name = text_field(_("姓名"), 150, required=True)
    unit = forms.ModelChoiceField(
        label=_("单位"), queryset=SupplyUnit.objects.none(),
        error_messages={"invalid_choice": _("所选单位不存在或不属于您的单位。")},
    )  # fmt: skip
    role = forms.ChoiceField(label=_("岗位角色"), choices=Role.choices)
    phone = text_field(_("手机"), 32)

    def __init__(self, *args, units=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("岗位角色"), choices=Role.choices)
