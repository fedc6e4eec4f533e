from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import BusinessDateField, DateInput, text_field
from refmeter.inspections.models import Finding

FRACTION = _("应为 0.2 到 1 之间的小数，例如 0.2。")
SEED = _("应为 0 到 9223372036854775807 之间的整数。")
COUNT = _("应为 0 到 100000 之间的整数。")
LATITUDE = _("纬度应为 -90 到 90 之间的数，最多 6 位小数。")
LONGITUDE = _("经度应为 -180 到 180 之间的数，最多 6 位小数。")
DEGREE_ERRORS = (
    "invalid",
    "min_value",
    "max_value",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
)


def _all(message: Any, *codes: str) -> dict[str, Any]:
    return dict.fromkeys(codes, message)


class InspectionPlanForm(forms.Form):
    unit = forms.TypedChoiceField(
        label=_("供电单位"), coerce=int,
        error_messages=_all(_("请从列表中选择。"), "required", "invalid_choice"),
    )  # fmt: skip
    period_start = BusinessDateField(
        label=_("检查期开始"),
        widget=DateInput(),
        error_messages=_all(_("应为日期，例如 2026-12-01。"), "required", "invalid"),
    )
    fraction = forms.DecimalField(
        label=_("抽检比例"), required=False, min_value=Decimal("0.2"), max_value=Decimal(1),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        max_digits=4, decimal_places=3,
        error_messages=_all(FRACTION, "invalid", "min_value", "max_value", "max_digits",
                            "max_decimal_places", "max_whole_digits"),
    )  # fmt: skip
    seed = forms.IntegerField(
        label=_("随机种子（留空自动生成）"), required=False, min_value=0, max_value=2**63 - 1,
        error_messages=_all(SEED, "invalid", "min_value", "max_value"),
    )  # fmt: skip

    def __init__(self, *args: object, units: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["unit"].choices = units  # type: ignore[attr-defined]


class InspectionResultForm(forms.Form):
    """What an inspector records at a point; the finding itself is checked by the service."""

    finding = forms.CharField(label=_("检查结果"), required=False)
    note = text_field(_("说明"), 500)
    found_location = text_field(_("未登记点位位置"), 300)
    found_count = forms.IntegerField(
        label=_("未登记点位数"), required=False, min_value=0, max_value=100_000,
        error_messages=_all(COUNT, "invalid", "min_value", "max_value"),
    )  # fmt: skip
    # Filled by the position button from the phone's geolocation (refmeter.js).
    latitude = forms.DecimalField(
        label=_("纬度"), required=False, min_value=Decimal(-90), max_value=Decimal(90),
        max_digits=9, decimal_places=6, error_messages=_all(LATITUDE, *DEGREE_ERRORS),
    )  # fmt: skip
    longitude = forms.DecimalField(
        label=_("经度"), required=False, min_value=Decimal(-180), max_value=Decimal(180),
        max_digits=9, decimal_places=6, error_messages=_all(LONGITUDE, *DEGREE_ERRORS),
    )  # fmt: skip


class TargetFilterForm(forms.Form):
    """The filters of a plan's point list."""

    text = text_field(_("户号、户名或地址"), 100)
    state = forms.ChoiceField(
        label=_("检查状态"),
        required=False,
        choices=[("", _("全部")), ("done", _("已检查")), ("pending", _("待检查"))],
    )
    finding = forms.ChoiceField(
        label=_("检查结果"), required=False, choices=[("", _("全部")), *Finding.choices]
    )
