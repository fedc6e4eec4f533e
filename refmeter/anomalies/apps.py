from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnomaliesConfig(AppConfig):
    name = "refmeter.anomalies"
    label = "anomalies"
    verbose_name = _("计量异常")
