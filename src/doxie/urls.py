from __future__ import annotations

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path

from doxie.api import api
from doxie.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/", api.urls),
    path("oauth/", include("doxie.tenants.urls")),  # no-slash paths answer directly
    path("admin/", admin.site.urls),
    path("hooks/", include("doxie.inbound.urls")),  # provider callbacks (token in the path)
    path("", include("doxie.messaging.urls")),  # tracked links /l/<token>
    path("", include("doxie.consents.urls")),  # DOI confirmation pages /doi/<token>
    path("", include("doxie.qrcodes.urls")),  # QR scans and images /qr/<uuid>
    # Admin UI assets straight from the installed apps: one machine needs no collectstatic.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]

handler404 = "doxie.core.views.not_found"
handler500 = "doxie.core.views.server_error"
