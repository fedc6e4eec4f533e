from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.billing.models import BillKind
from refmeter.common.forms import text_field


class BillFilterForm(forms.Form):
    """The filters of a run's bill list."""

    text = text_field(_("账单号、基准户号或客户"), 100)
    kind = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部")), *BillKind.choices]
    )
