from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "refmeter.common"
    label = "common"
    verbose_name = _("日历与后台任务")

    def ready(self) -> None:
        from django.db.models import CharField, ForeignKey, IntegerField

        from refmeter.common.lookups import AnyOf, IntegerAnyOf

        CharField.register_lookup(AnyOf)
        IntegerField.register_lookup(IntegerAnyOf)
        ForeignKey.register_lookup(IntegerAnyOf)
