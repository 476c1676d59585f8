"""Public QR URLs at the site root: the scan redirect and the code's images. Anything but a
canonical UUID never reaches the views (the ``uid`` converter): a plain 404 page."""

from __future__ import annotations

from django.urls import path

from doxie.qrcodes import views

urlpatterns = [
    path("qr/<uid:code>.png", views.image, {"kind": "png"}, name="qr_png"),
    path("qr/<uid:code>.svg", views.image, {"kind": "svg"}, name="qr_svg"),
    path("qr/<uid:code>", views.scan, name="qr_scan"),
]
