from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refmeter.common.forms import BusinessDateField, DateInput, text_field
from refmeter.common.listing import require_date_range
from refmeter.common.validators import validate_id_card, validate_mobile, validate_phone
from refmeter.workorders.models import DocumentKind, OrderKind, Step

DATE = DateInput()


class ApplicationForm(forms.Form):
    handler_name = forms.CharField(label=_("经办人"), max_length=64, required=False)
    handler_id_number = forms.CharField(
        label=_("经办人身份证号"), max_length=32, required=False, validators=[validate_id_card]
    )
    handler_phone = forms.CharField(
        label=_("经办人电话"), max_length=32, required=False, validators=[validate_phone]
    )
    sms_number = forms.CharField(
        label=_("短信号码"), max_length=32, required=False, validators=[validate_mobile]
    )
    outage_contact_name = forms.CharField(label=_("停电联系人"), max_length=64, required=False)
    outage_contact_phone = forms.CharField(
        label=_("停电联系人电话"), max_length=32, required=False, validators=[validate_phone]
    )
    note = forms.CharField(label=_("申请说明"), max_length=500, required=False)


class ApplicationEditForm(ApplicationForm):
    """A correction of the application form, until the survey is done."""

    reason = forms.CharField(label=_("修改原因"), max_length=500)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=500)
    # Required by the service, so that the API and the command line ask for it too.
    confirm = forms.BooleanField(
        label=_("我已知晓：撤销不可恢复，已生成的户号将作废"), required=False
    )


class NewInstallForm(ApplicationForm):
    customer = forms.TypedChoiceField(label=_("客户"), coerce=int)
    device_type = forms.TypedChoiceField(label=_("单点设备类型"), coerce=int)

    field_order = ["customer", "device_type"]


class ListUploadForm(forms.Form):
    file = forms.FileField(label=_("接电申请清单（xlsx/xls/ods）"))


class ChangeLineForm(forms.Form):
    account_number = forms.CharField(label=_("户号"), max_length=10)
    name = forms.CharField(label=_("新户名"), max_length=200, required=False)
    device_address = forms.CharField(label=_("新设备地址"), max_length=300, required=False)
    access_point_number = forms.CharField(label=_("新接入点编号"), max_length=17, required=False)


class PlaceForm(forms.Form):
    access_point_number = forms.CharField(label=_("接入点编号"), max_length=17)


class ContractForm(forms.Form):
    number = forms.CharField(label=_("合同编号"), max_length=40)
    start_date = BusinessDateField(label=_("合同生效日期"), widget=DATE)
    end_date = BusinessDateField(label=_("合同到期日期"), widget=DATE)
    approved_by = forms.CharField(label=_("审批人"), max_length=64, required=False)
    approved_date = BusinessDateField(label=_("审批日期"), widget=DATE, required=False)
    signed_date = BusinessDateField(label=_("签订日期"), widget=DATE, required=False)


class ConnectionForm(forms.Form):
    connection_date = BusinessDateField(label=_("接电日期"), widget=DATE)
    meter_asset_number = forms.CharField(label=_("参考表资产编号"), max_length=32, required=False)
    meter_barcode = forms.CharField(label=_("电能表条码"), max_length=32, required=False)
    meter_box_resource_number = forms.CharField(
        label=_("表箱资源编号"), max_length=32, required=False
    )
    ct_ratio = forms.IntegerField(
        label=_("互感器倍率"), min_value=1, max_value=100_000, initial=1, required=False
    )
    tariff_code = forms.CharField(label=_("电价代码"), max_length=32, required=False)


class ClosureForm(forms.Form):
    closure_date = BusinessDateField(label=_("拆表（销户）日期"), widget=DATE)


class AllDatesForm(forms.Form):
    all_lines = BusinessDateField(label=_("全部点位的安装日期"), widget=DATE)


class InstallationFileForm(forms.Form):
    file = forms.FileField(label=_("安装清单（含户号、安装日期两列）"))


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("资料类型"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("文件"))


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("退回原因"), max_length=500)


# The order list's tabs.
ORDER_VIEWS = (("mine", _("待我办理")), ("open", _("全部在途")), ("done", _("已办结")))


def order_view(value: str | None) -> str:
    """The tab asked for, or the default one for anything else."""
    return value if value in dict(ORDER_VIEWS) else "mine"


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class OrderFilterForm(forms.Form):
    """The filters of the order list; the tab (``view``) is read on its own."""

    text = text_field(_("工单号、户号或客户"), 100)
    kind = forms.ChoiceField(
        label=_("业务类型"), required=False, choices=[("", _("全部")), *OrderKind.choices]
    )
    step = forms.ChoiceField(
        label=_("当前环节"), required=False, choices=[("", _("全部")), *Step.choices]
    )
    unit = forms.TypedChoiceField(label=_("供电单位"), required=False, coerce=int, empty_value=None)
    created_from = BusinessDateField(
        label=_("受理日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = BusinessDateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("全部")), *units]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        require_date_range(
            data,
            "created_from",
            "created_to",
            start_label=str(_("受理日期从")),
            end_label=str(_("受理日期至")),
        )
        return data

    def search_filters(self) -> dict[str, Any]:
        """The valid form's filters as ``orders_search`` takes them."""
        data = self.cleaned_data
        return {
            "text": data["text"], "kind": data["kind"], "step": data["step"],
            "unit_id": data["unit"],
            # The days are the service hall's: from the first day's start to the last's end.
            "created_from": _day_start(data["created_from"]) if data["created_from"] else None,
            "created_before": _day_start(data["created_to"] + dt.timedelta(days=1))
            if data["created_to"] else None,
        }  # fmt: skip
