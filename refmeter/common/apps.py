from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "refmeter.common"
    label = "common"
