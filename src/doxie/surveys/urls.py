"""The public survey page (no API credentials: the token in the path is the key)."""

from django.urls import path

from doxie.core import converters  # noqa: F401 - registers <token:…>
from doxie.surveys import views

urlpatterns = [path("s/<token:token>", views.survey, name="surveys-page")]
