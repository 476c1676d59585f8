from django.apps import AppConfig


class QrcodesConfig(AppConfig):
    name = "doxie.qrcodes"
    label = "qrcodes"
    verbose_name = "QR codes"
