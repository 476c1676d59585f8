from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "doxie.consents"
    label = "consents"
