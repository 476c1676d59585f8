from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "doxie.messaging"
    label = "messaging"

    def ready(self) -> None:
        """Messaging's hooks: P7 for mailer processes, the ``events:`` section of
        ``apply_config`` and the process view's ``messages``."""
        from doxie.core.metrics import register_source
        from doxie.messaging import config, metrics, selectors, services
        from doxie.processes.models import ProcessKind
        from doxie.processes.registry import registry

        registry.register_canceller(
            ProcessKind.MAILER, services.cancel_mailer_process, app=self.label
        )
        registry.register_config_section(
            config.SECTION, validate=config.validate, apply=config.apply, app=self.label,
            after=("consent_purposes",),
        )
        registry.register_describer(
            "messages", selectors.describe_process_messages, app=self.label
        )
        register_source(metrics.queue_samples)
