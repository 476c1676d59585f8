from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "doxie.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        """The webhook backlog gauges of ``/metrics``."""
        from doxie.core.metrics import register_source
        from doxie.webhooks import metrics

        register_source(metrics.queue_samples)
