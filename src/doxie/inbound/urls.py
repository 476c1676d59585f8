"""Provider callback URLs, mounted under ``/hooks/``; the last segment is the brand's token."""

from __future__ import annotations

from django.urls import path

from doxie.core import converters  # noqa: F401 - registers <token:…>
from doxie.inbound import views

urlpatterns = [
    path("mailjet/<token:token>", views.mailjet, name="inbound_mailjet"),
    path("ses/<token:token>", views.ses, name="inbound_ses"),
    path("seven/<token:token>", views.seven, name="inbound_seven"),
]
