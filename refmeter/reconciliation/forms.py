from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import BusinessDateField


class ReconcileForm(forms.Form):
    file = forms.FileField(
        label=_("营销系统参考表客户清单（户号、综合倍率、状态）"),
        error_messages={"required": _("请选择要上传的文件。")},
    )
    as_of = BusinessDateField(
        label=_("核对日期"), error_messages={"required": _("请填写核对日期。")}
    )
