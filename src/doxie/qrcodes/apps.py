from django.apps import AppConfig


class QrcodesConfig(AppConfig):
    name = "doxie.qrcodes"
    label = "qrcodes"
    verbose_name = "QR codes"

    def ready(self) -> None:
        """QR codes' hooks: P7 for qr processes, the ``qr`` part of QR events in
        ``apply_config`` (a part of ``events``, applied after it) and the process view's
        ``qr_code``."""
        from doxie.processes.models import ProcessKind
        from doxie.processes.registry import registry
        from doxie.qrcodes import config, selectors, services

        registry.register_canceller(ProcessKind.QR, services.cancel_qr_process, app=self.label)
        registry.register_config_section(
            config.PART, validate=config.validate, apply=config.apply, app=self.label,
            after=(config.SECTION,),
        )
        registry.register_describer(
            "qr_code", selectors.describe_process_code, app=self.label, kinds=(ProcessKind.QR,)
        )
