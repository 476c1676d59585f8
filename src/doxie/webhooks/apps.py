from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "doxie.webhooks"
    label = "webhooks"
