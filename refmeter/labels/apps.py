from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LabelsConfig(AppConfig):
    name = "refmeter.labels"
    label = "labels"
    verbose_name = _("二维码标识")
