"""Public QR URLs at the site root: the scan redirect and the code's images."""

from __future__ import annotations

from django.urls import re_path

from doxie.qrcodes import views

urlpatterns = [
    re_path(r"^qr/(?P<code>[^/.]+)\.(?P<kind>png|svg)$", views.image, name="qr_image"),
    re_path(r"^qr/(?P<code>[^/]+)$", views.scan, name="qr_scan"),
]
