"""Public DOI confirmation pages (no API credentials: the token in the path is the key)."""

from django.urls import path

from doxie.consents import views

urlpatterns = [
    path("doi/<str:token>", views.confirm, name="consents-doi"),
    # SMS links: a shorter path and token, the same page and flow.
    path("d/<str:token>", views.confirm, name="consents-doi-short"),
]
