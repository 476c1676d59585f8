from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "doxie.processes"
    label = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        # The system checks of the registry (every process kind has a canceller, every
        # apply_config section one handler); registering them is what importing does.
        from doxie.processes import checks  # noqa: F401
