from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "refmeter.registry"
    label = "registry"
    verbose_name = _("参考表客户档案")
