from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationsConfig(AppConfig):
    name = "refmeter.organisations"
    label = "organisations"
    verbose_name = _("供电单位与人员")
