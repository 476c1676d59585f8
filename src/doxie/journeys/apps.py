from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "doxie.journeys"
    label = "journeys"

    def ready(self) -> None:
        """Journeys' hooks: P7 for injector processes, the ``journey`` part of events in
        ``apply_config``, the process view's ``journey`` and messaging's event listener
        (``wait_for``)."""
        from doxie.journeys import config, selectors, services
        from doxie.messaging.listeners import register_message_listener
        from doxie.processes.models import ProcessKind
        from doxie.processes.registry import registry

        registry.register_canceller(ProcessKind.INJECTOR, services.cancel_injection,
                                    app=self.label)
        registry.register_config_section(config.SECTION, validate=config.validate,
                                         apply=config.apply, app=self.label,
                                         after=("events",))
        registry.register_describer("journey", selectors.describe_process_steps,
                                    app=self.label, kinds=(ProcessKind.INJECTOR,))
        register_message_listener(services.on_message_event)
