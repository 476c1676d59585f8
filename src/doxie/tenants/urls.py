"""The OAuth2 server's routes, mounted at ``/oauth/``.

Every endpoint answers with and without a trailing slash: OAuth2 clients POST a form and do
not re-send it after a redirect, so ``/oauth/token`` must never be a 301 to ``/oauth/token/``.
Only the endpoints we offer are routed (no device flow, no dynamic registration). The
application management pages are for superusers only: tenants' clients are created with
``doxie create_oauth_client``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from oauth2_provider import views

app_name = "oauth2_provider"  # the toolkit's views and templates reverse this namespace


def superuser_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous callers go to the login page; signed-in non-superusers get a 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_superuser:
            raise PermissionDenied("Only superusers manage OAuth2 applications")
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    re_path(r"^authorize/?$", views.AuthorizationView.as_view(), name="authorize"),
    re_path(r"^token/?$", views.TokenView.as_view(), name="token"),
    re_path(r"^revoke(?:_token)?/?$", views.RevokeTokenView.as_view(), name="revoke-token"),
    re_path(r"^introspect/?$", views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(r"^applications/?$", superuser_only(views.ApplicationList.as_view()), name="list"),
    re_path(
        r"^applications/register/?$",
        superuser_only(views.ApplicationRegistration.as_view()),
        name="register",
    ),
    re_path(
        r"^applications/(?P<pk>[0-9]+)/?$",
        superuser_only(views.ApplicationDetail.as_view()),
        name="detail",
    ),
    re_path(
        r"^applications/(?P<pk>[0-9]+)/delete/?$",
        superuser_only(views.ApplicationDelete.as_view()),
        name="delete",
    ),
    re_path(
        r"^applications/(?P<pk>[0-9]+)/update/?$",
        superuser_only(views.ApplicationUpdate.as_view()),
        name="update",
    ),
    # A signed-in person's own authorized tokens (the toolkit scopes these to request.user).
    re_path(
        r"^authorized_tokens/?$",
        views.AuthorizedTokensListView.as_view(),
        name="authorized-token-list",
    ),
    re_path(
        r"^authorized_tokens/(?P<pk>[0-9]+)/delete/?$",
        views.AuthorizedTokenDeleteView.as_view(),
        name="authorized-token-delete",
    ),
]
