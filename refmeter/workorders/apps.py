from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "refmeter.workorders"
    label = "workorders"
    verbose_name = _("业务流程")
