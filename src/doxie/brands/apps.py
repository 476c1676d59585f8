from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "doxie.brands"
    label = "brands"
