from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "refmeter.common"
    label = "common"
    verbose_name = _("日历与后台任务")

    def ready(self) -> None:
        from django.db.models import CharField

        from refmeter.common.lookups import AnyOf

        CharField.register_lookup(AnyOf)
