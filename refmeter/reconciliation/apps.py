from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReconciliationConfig(AppConfig):
    name = "refmeter.reconciliation"
    verbose_name = _("营销系统核对")
