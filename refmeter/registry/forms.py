from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import BusinessDateField, DateInput
from refmeter.common.listing import require_date_range
from refmeter.common.validators import validate_access_point_number
from refmeter.organisations.models import User
from refmeter.organisations.selectors import units_visible_to


class GroupSearchForm(forms.Form):
    unit = forms.TypedChoiceField(label=_("供电单位"), required=False, coerce=int, empty_value=None)
    customer = forms.CharField(label=_("客户名称"), required=False, max_length=100)
    account_number = forms.CharField(label=_("基准户户号"), required=False, max_length=10)
    name = forms.CharField(label=_("户名"), required=False, max_length=100)
    address = forms.CharField(label=_("地址"), required=False, max_length=100)
    created_from = BusinessDateField(label=_("立户日期从"), required=False)
    created_to = BusinessDateField(label=_("至"), required=False)

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices: list[tuple[object, object]] = [("", _("全部"))]
        choices += [(unit.pk, unit.name) for unit in units_visible_to(user=user)]
        self.fields["unit"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        require_date_range(
            data,
            "created_from",
            "created_to",
            start_label=str(_("立户日期从")),
            end_label=str(_("立户日期至")),
        )
        return data


class VersionField(forms.IntegerField):
    """The version of the record the form was filled from; a save of an older one is refused."""

    widget = forms.HiddenInput

    def __init__(self) -> None:
        super().__init__(label=_("版本"), min_value=1, required=False)


class VersionedForm(forms.Form):
    version = VersionField()

    def with_version(self, version: int) -> None:
        """Re-show a refused form with the user's input and the record's current version,
        so that a second save, after reading what changed, goes through."""
        self.data = {**{key: self.data.get(key) for key in self.data}, "version": str(version)}


class PointEditForm(VersionedForm):
    name = forms.CharField(label=_("户名"), max_length=200)
    device_address = forms.CharField(label=_("设备地址"), max_length=300)
    area_number = forms.CharField(label=_("台区编号"), max_length=32, required=False)
    access_point_number = forms.CharField(
        label=_("接入点编号"), max_length=17, required=False,
        validators=[validate_access_point_number],
    )  # fmt: skip
    reason = forms.CharField(label=_("修改原因"), max_length=500)


class GroupTermsForm(VersionedForm):
    ct_ratio = forms.IntegerField(label=_("互感器倍率"), min_value=1, max_value=100_000)
    tariff_code = forms.CharField(label=_("电价代码"), max_length=32, required=False)
    from_date = BusinessDateField(label=_("执行日期"), widget=DateInput())
    reason = forms.CharField(label=_("变更原因"), max_length=200)


class GroupHistoryFilterForm(forms.Form):
    """The filters of the change history on the group page (named apart from the points')."""

    history_action = forms.ChoiceField(label=_("操作"), required=False)
    history_from = BusinessDateField(
        label=_("日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    history_to = BusinessDateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, actions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["history_action"].choices = [("", _("全部")), *actions]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        require_date_range(
            data,
            "history_from",
            "history_to",
            start_label=str(_("变更日期从")),
            end_label=str(_("变更日期至")),
        )
        return data
