from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "doxie.consents"
    label = "consents"

    def ready(self) -> None:
        """Consents' hooks: P7 for consent processes, the ``consent_purposes:`` section of
        ``apply_config`` and the process view's ``consents``."""
        from doxie.consents import config, selectors, services
        from doxie.processes.models import ProcessKind
        from doxie.processes.registry import registry

        registry.register_canceller(
            ProcessKind.CONSENT, services.cancel_consent_process, app=self.label
        )
        registry.register_config_section(
            config.SECTION, validate=config.validate, apply=config.apply, app=self.label
        )
        registry.register_describer(
            "consents", selectors.describe_process_consents, app=self.label,
            kinds=(ProcessKind.CONSENT,),
        )
