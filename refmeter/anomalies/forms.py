from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import text_field


class ContactSheetForm(forms.Form):
    request = text_field(_("核查要求"), 500)


class ContactSheetAnswerForm(forms.Form):
    """The date and the finding are checked where they are used; the note must fit."""

    finding = forms.CharField(label=_("现场核查结论"), required=False)
    note = text_field(_("核查说明"), 500)
