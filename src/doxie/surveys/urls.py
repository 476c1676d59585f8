"""The public survey page (no API credentials: the token in the path is the key)."""

from django.urls import path

from doxie.surveys import views

urlpatterns = [path("s/<str:token>", views.survey, name="surveys-page")]
