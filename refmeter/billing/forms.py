from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.billing.models import BackBillingMethod, BillKind
from refmeter.common.forms import BusinessDateField, text_field


class BillFilterForm(forms.Form):
    """The filters of a run's bill list."""

    text = text_field(_("账单号、基准户号或客户"), 100)
    kind = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部")), *BillKind.choices]
    )


class BackBillingForm(forms.Form):
    """What a back-billing is computed from: this form checks the shape of each value; the
    service judges them together (dates in order, a normal period with readings, the
    number of points) and names the field it refuses."""

    method = forms.ChoiceField(label=_("计算方法"), choices=BackBillingMethod.choices)
    period_start = BusinessDateField(label=_("退补期间开始"))
    period_end = BusinessDateField(label=_("退补期间结束（不含）"))
    baseline_start = BusinessDateField(label=_("正常期间开始"), required=False)
    baseline_end = BusinessDateField(label=_("正常期间结束（不含）"), required=False)
    correct_points = text_field(_("正确点数（倍率不符，含基准户）"), 100)

    def parameters(self) -> dict[str, str]:
        """The optional inputs, as the service takes them."""
        data = self.cleaned_data
        parameters = {
            key: data[key].isoformat()
            for key in ("baseline_start", "baseline_end")
            if data.get(key)
        }
        if data.get("correct_points"):
            parameters["correct_points"] = data["correct_points"]
        return parameters
