from django.apps import AppConfig


class MasterdataConfig(AppConfig):
    name = "refmeter.masterdata"
    verbose_name = "主数据导入"
