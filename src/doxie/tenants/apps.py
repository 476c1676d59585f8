from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "doxie.tenants"
    label = "tenants"
    verbose_name = "Tenants"
