from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "doxie.inbound"
    label = "inbound"
