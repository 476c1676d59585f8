from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "doxie.pages"
    label = "pages"
    verbose_name = "Landing pages"
    default_auto_field = "django.db.models.BigAutoField"
