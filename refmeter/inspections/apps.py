from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "refmeter.inspections"
    label = "inspections"
    verbose_name = _("现场检查")
