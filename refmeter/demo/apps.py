from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "refmeter.demo"
    label = "demo"
