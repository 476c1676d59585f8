"""The OAuth2 endpoints at the contract's paths, driven by a real OAuth2 client (authlib)
against a live server: no-slash paths answer directly, scopes follow the client, tokens are
stored only as hashes."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from django.db import connection
from oauth2_provider.models import get_access_token_model, get_application_model

from doxie.tenants import services
from tests.helpers import PASSWORD

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 60  # generous: a loaded CI machine; nothing here asserts on time


def _client_for(tenant_slug: str, scopes: list[str]) -> services.OAuthClientCredentials:
    return services.create_oauth_client(tenant=services.get_tenant(tenant_slug), scopes=scopes)


def _tenant(slug: str):
    return services.create_tenant(slug=slug)


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/token/"])
def test_client_credentials_at_the_contract_path(live_server, path):
    _tenant("shop")
    creds = _client_for("shop", ["read", "write"])
    with OAuth2Client(creds.client_id, creds.client_secret, timeout=TIMEOUT) as oauth:
        # No ``scope``: the client gets everything it was registered with.
        token = oauth.fetch_token(live_server.url + path, grant_type="client_credentials")
        assert sorted(token["scope"].split()) == ["read", "write"]
        tenant = oauth.get(live_server.url + "/api/v1/shop/admin/tenant")
        assert tenant.status_code == 200, tenant.text
        patched = oauth.patch(
            live_server.url + "/api/v1/shop/admin/tenant",
            json={"tenant_params": {"webhook_interaction_storage_duration_in_days": 3}},
        )
        assert patched.status_code == 200, patched.text


def test_no_slash_endpoints_never_redirect(live_server):
    _tenant("shop")
    creds = _client_for("shop", ["read"])
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=TIMEOUT) as http:
        for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/authorize"):
            method = http.get if path.endswith("authorize") else http.post
            response = method(path, auth=(creds.client_id, creds.client_secret))
            assert response.status_code != 301, path
            assert not (response.status_code == 302 and response.headers["location"].startswith(
                path + "/")), path


def test_read_client_gets_exactly_read(live_server):
    _tenant("shop")
    creds = _client_for("shop", ["read"])
    url = live_server.url + "/oauth/token"
    with OAuth2Client(creds.client_id, creds.client_secret, timeout=TIMEOUT) as oauth:
        assert oauth.fetch_token(url, grant_type="client_credentials")["scope"] == "read"
    with OAuth2Client(creds.client_id, creds.client_secret, scope="read", timeout=TIMEOUT) as oauth:
        assert oauth.fetch_token(url, grant_type="client_credentials")["scope"] == "read"
    with httpx.Client(timeout=TIMEOUT) as http:
        refused = http.post(url, data={"grant_type": "client_credentials", "scope": "read write"},
                            auth=(creds.client_id, creds.client_secret))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


def test_revoke_and_introspect_without_slash(live_server):
    _tenant("shop")
    creds = _client_for("shop", ["read"])
    with OAuth2Client(creds.client_id, creds.client_secret, timeout=TIMEOUT) as oauth:
        token = oauth.fetch_token(live_server.url + "/oauth/token",
                                  grant_type="client_credentials")
        active = oauth.introspect_token(live_server.url + "/oauth/introspect",
                                        token=token["access_token"])
        assert active.status_code == 200 and active.json()["active"] is True
        revoked = oauth.revoke_token(live_server.url + "/oauth/revoke",
                                     token=token["access_token"])
        assert revoked.status_code == 200
        after = oauth.introspect_token(live_server.url + "/oauth/introspect",
                                       token=token["access_token"])
        assert after.json()["active"] is False
    with httpx.Client(timeout=TIMEOUT) as http:
        gone = http.get(live_server.url + "/api/v1/shop/admin/tenant",
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert gone.status_code == 401


def _hidden_inputs(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = (value.group(1) if value else "").replace("&amp;", "&")
    return fields


def _sign_in_and_authorize(base: str, authorize_url: str) -> str:
    """A browser: follows /oauth/authorize to the login page, signs in, approves."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=TIMEOUT) as browser:
        first = browser.get(authorize_url)
        assert first.status_code == 302 and first.headers["location"].startswith("/admin/login/")
        login_page = browser.get(first.headers["location"])
        login = browser.post(first.headers["location"], data={
            **_hidden_inputs(login_page.text), "username": "alice", "password": PASSWORD,
        })
        assert login.status_code == 302, login.text
        form = browser.get(login.headers["location"])
        assert form.status_code == 200, form.text
        approved = browser.post(login.headers["location"],
                                data={**_hidden_inputs(form.text), "allow": "Authorize"})
        assert approved.status_code == 302, approved.text
        return approved.headers["location"]


def test_authorization_code_with_pkce_at_the_contract_paths(live_server):
    tenant = _tenant("shop")
    user, _ = services.create_admin(tenant=tenant, username="alice", email="a@example.com",
                                    can_read=True, can_write=True, password=PASSWORD)
    app = get_application_model().objects.create(
        name="dashboard", user=user, client_type="public",
        authorization_grant_type="authorization-code", redirect_uris=REDIRECT, algorithm="",
    )
    oauth = OAuth2Client(app.client_id, redirect_uri=REDIRECT, scope="read write",
                         code_challenge_method="S256", token_endpoint_auth_method="none",
                         timeout=TIMEOUT)
    verifier = "v" * 64
    url, state = oauth.create_authorization_url(
        live_server.url + "/oauth/authorize", code_verifier=verifier
    )
    callback = _sign_in_and_authorize(live_server.url, url)
    assert parse_qs(urlparse(callback).query)["state"] == [state]
    token = oauth.fetch_token(live_server.url + "/oauth/token", authorization_response=callback,
                              code_verifier=verifier)
    assert sorted(token["scope"].split()) == ["read", "write"] and token["refresh_token"]
    assert oauth.get(live_server.url + "/api/v1/shop/admin/tenant").status_code == 200

    # Both tokens are stored only as hashes: a database dump hands out nothing usable.
    with connection.cursor() as cursor:
        for table in ("oauth2_provider_accesstoken", "oauth2_provider_refreshtoken"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            dump = repr(cursor.fetchall())
            assert token["access_token"] not in dump and token["refresh_token"] not in dump
    assert get_access_token_model().objects.filter(token="").count() == 1

    # The refresh token still works through its hash, and the old access token is replaced.
    refreshed = oauth.refresh_token(live_server.url + "/oauth/token",
                                    refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert oauth.get(live_server.url + "/api/v1/shop/admin/tenant").status_code == 200
    oauth.close()
