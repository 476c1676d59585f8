"""Public messaging URLs at the site root: tracked-link redirects (``/l/{token}``)."""

from __future__ import annotations

from django.urls import path

from doxie.core import converters  # noqa: F401 - registers <token:…>
from doxie.messaging import tracking

urlpatterns = [
    path("l/<token:token>", tracking.click, name="tracked_link"),
]
