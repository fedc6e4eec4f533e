from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadingsConfig(AppConfig):
    name = "refmeter.readings"
    label = "readings"
    verbose_name = _("抄表数据")
