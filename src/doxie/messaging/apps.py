from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "doxie.messaging"
    label = "messaging"
