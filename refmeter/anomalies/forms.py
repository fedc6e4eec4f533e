from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.anomalies.models import Cause
from refmeter.common.forms import BusinessDateField, DateInput, text_field


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
