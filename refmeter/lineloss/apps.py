from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinelossConfig(AppConfig):
    name = "refmeter.lineloss"
    label = "lineloss"
    verbose_name = _("台区线损")
