from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import text_field
from refmeter.outages.models import OutageKind

MOMENT = _("应为日期和时间，例如 2026-12-01 08:00。")
MOMENT_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _all(message: Any, *codes: str) -> dict[str, Any]:
    return dict.fromkeys(codes, message)


class OutageForm(forms.Form):
    """A planned or temporary outage; the places and the dates' order are checked by the
    service."""

    kind = forms.ChoiceField(
        label=_("类型"), choices=OutageKind.choices,
        error_messages=_all(_("请选择停电类型。"), "required", "invalid_choice"),
    )  # fmt: skip
    unit = forms.TypedChoiceField(
        label=_("供电单位"), coerce=int,
        error_messages=_all(_("请从列表中选择。"), "required", "invalid_choice"),
    )  # fmt: skip
    starts_at = forms.DateTimeField(
        label=_("停电开始"), widget=MOMENT_WIDGET,
        error_messages=_all(MOMENT, "required", "invalid", "overflow"),
    )  # fmt: skip
    ends_at = forms.DateTimeField(
        label=_("停电结束"), widget=MOMENT_WIDGET,
        error_messages=_all(MOMENT, "required", "invalid", "overflow"),
    )  # fmt: skip
    areas = forms.CharField(
        label=_("台区编号（逗号分隔）"), required=False, max_length=20_000,
        widget=forms.TextInput(attrs={"size": 30}),
    )  # fmt: skip
    access_points = forms.CharField(
        label=_("接入点编号（逗号分隔）"), required=False, max_length=20_000,
        widget=forms.TextInput(attrs={"size": 30}),
    )  # fmt: skip
    reason = text_field(_("停电原因"), 300, required=True)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = units  # type: ignore[attr-defined]

    @staticmethod
    def numbers(text: str) -> list[str]:
        return text.replace("，", ",").split(",")


class NoticeTemplateForm(forms.Form):
    """An edit of the SMS template; its placeholders are checked by the service."""

    text = forms.CharField(
        label=_("模板内容"), max_length=2000, strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        error_messages={"required": _("请填写模板内容。")},
    )  # fmt: skip
    note = text_field(_("修改说明"), 200)
    # The version the page showed; hidden, so what is wrong with it is said above the form.
    based_on = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = str(data.get("based_on") or "").strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            raise forms.ValidationError(_("页面已过期，请刷新后再改。"), code="stale")
        data["based_on"] = int(raw)
        return data
