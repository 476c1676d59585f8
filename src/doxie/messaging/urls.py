"""Public messaging URLs at the site root: tracked-link redirects (``/l/{token}``)."""

from __future__ import annotations

from django.urls import path

from doxie.messaging import tracking

urlpatterns = [
    path("l/<str:token>", tracking.click, name="tracked_link"),
]
