"""Provider callback URLs, mounted under ``/hooks/``; the last segment is the brand's token."""

from __future__ import annotations

from django.urls import path

from doxie.inbound import views

urlpatterns = [
    path("mailjet/<str:token>", views.mailjet, name="inbound_mailjet"),
    path("ses/<str:token>", views.ses, name="inbound_ses"),
    path("seven/<str:token>", views.seven, name="inbound_seven"),
]
