from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import text_field
from refmeter.lineloss.selectors import CLASS_LABELS

MOVES = [
    ("", _("全部")),
    ("into_qualified", _("转为合格")),
    ("out_of_qualified", _("由合格转为不合格")),
]


class ReportFilterForm(forms.Form):
    """The filters of the line-loss report; the month is read on its own."""

    area = text_field(_("台区编号或名称"), 100)
    loss_class = forms.ChoiceField(
        label=_("计入后"),
        required=False,
        choices=[("", _("全部")), *CLASS_LABELS.items()],
    )
    moved = forms.ChoiceField(label=_("变化"), required=False, choices=MOVES)
