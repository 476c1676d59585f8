from django.urls import path

from doxie.pages import views

urlpatterns = [
    path("p/<key:tenant>/<key:slug>", views.published, name="published-page"),
    path("media/<path:name>", views.asset_file, name="page-asset"),
]
