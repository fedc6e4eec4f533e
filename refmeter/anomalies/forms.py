from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.anomalies.models import AnomalyKind, Cause
from refmeter.common.forms import BusinessDateField, DateInput, text_field
from refmeter.common.listing import require_date_range


class ContactSheetForm(forms.Form):
    request = text_field(_("核查要求"), 500)
    request.widget.attrs.update({"size": 50})


class ContactSheetAnswerForm(forms.Form):
    """The finding must be one of the causes; the date is checked against today by the
    service; the note must fit."""

    finding = forms.ChoiceField(
        label=_("现场核查结论"),
        choices=[("", ""), *Cause.choices],
        error_messages={
            "required": _("请选择现场核查结论。"),
            "invalid_choice": _("请选择现场核查结论。"),
        },
    )
    found_on = BusinessDateField(
        label=_("核查日期"),
        widget=DateInput(),
        error_messages={"required": _("请填写核查日期。"), "invalid": _("请填写核查日期。")},
    )
    note = text_field(_("核查说明"), 500)


class CaseFilterForm(forms.Form):
    """The filters of the case list; the tab (``status``) is read on its own."""

    kind = forms.ChoiceField(
        label=_("异常类型"), required=False, choices=[("", _("全部")), *AnomalyKind.choices]
    )
    text = text_field(_("户号、客户或电能表"), 100)
    raised_from = BusinessDateField(
        label=_("报出日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    raised_to = BusinessDateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        require_date_range(
            data,
            "raised_from",
            "raised_to",
            start_label=str(_("报出日期从")),
            end_label=str(_("报出日期至")),
        )
        return data
