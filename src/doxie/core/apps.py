from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "doxie.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from doxie.core import checks  # noqa: F401 - registers the deploy checks
