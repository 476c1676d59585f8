"""Our OAuth2 authorization server policy, plugged into django-oauth-toolkit's extension points.

* ``DoxieOAuth2Server`` (``OAUTH2_SERVER_CLASS``) knows only the grants the contract
  documents: client credentials, authorization code (PKCE is required by settings) and the
  refresh tokens that flow issues. The password and implicit grants do not exist on this
  server, so every request for them gets the same ``unsupported_grant_type`` /
  ``unsupported_response_type`` before any client or user is looked at — no oracle.
* ``ClientScopes`` (``SCOPES_BACKEND_CLASS``) makes scopes follow the client: a client
  registered with ``create_oauth_client --scopes ...`` may only be issued those scopes, and
  a token request without ``scope`` gets all of them.
"""

from __future__ import annotations

from oauth2_provider.scopes import SettingsScopes
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    IntrospectEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from oauthlib.oauth2.rfc6749.tokens import BearerToken


class DoxieOAuth2Server(
    AuthorizationEndpoint, IntrospectEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint
):
    """oauthlib's all-in-one server minus the password, implicit and device grants."""

    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        *args,
        **kwargs,
    ) -> None:
        self.auth_grant = AuthorizationCodeGrant(request_validator)
        self.credentials_grant = ClientCredentialsGrant(request_validator)
        self.refresh_grant = RefreshTokenGrant(request_validator)
        self.bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant, "none": self.auth_grant},
            default_token_type=self.bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": self.auth_grant,
                "client_credentials": self.credentials_grant,
                "refresh_token": self.refresh_grant,
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)


def client_scopes(application) -> list[str] | None:
    """The scopes stored for a tenant's client, or None for applications without a policy row
    (authorization-code apps registered by a superuser: the member's rights bound them)."""
    from doxie.tenants.models import OAuthClient

    if application is None or application.pk is None:
        return None
    try:
        policy = application.doxie_client  # cached on the instance after the first access
    except OAuthClient.DoesNotExist:
        return None
    return policy.scope_list


class ClientScopes(SettingsScopes):
    """Available and default scopes are the client's own allowed scopes when it has them."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        allowed = client_scopes(application)
        if allowed is None:
            return super().get_available_scopes(application, request, *args, **kwargs)
        return allowed

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        allowed = client_scopes(application)
        if allowed is None:
            return super().get_default_scopes(application, request, *args, **kwargs)
        return allowed
