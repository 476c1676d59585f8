"""Public DOI confirmation pages (no API credentials: the token in the path is the key)."""

from django.urls import path

from doxie.consents import views
from doxie.core import converters  # noqa: F401 - registers <token:…>

urlpatterns = [
    path("doi/<token:token>", views.confirm, name="consents-doi"),
    # SMS links: a shorter path and token, the same page and flow.
    path("d/<token:token>", views.confirm, name="consents-doi-short"),
]
