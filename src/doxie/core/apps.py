from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "doxie.core"
    label = "core"
    verbose_name = "Core"
