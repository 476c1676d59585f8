"""Authorization code + PKCE: a member authorizes an app, which then acts with their rights."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from oauth2_provider.models import get_application_model

from doxie.tenants import services
from tests.helpers import PASSWORD

REDIRECT = "http://127.0.0.1:9999/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


@pytest.mark.django_db
def test_authorization_code_with_pkce(tenant):
    user, _ = services.create_admin(tenant=tenant, username="alice", email="a@example.com",
                                    can_read=True, can_write=False, password=PASSWORD)
    application = get_application_model().objects.create(
        name="dashboard", user=user, client_type="public",
        authorization_grant_type="authorization-code", redirect_uris=REDIRECT,
        algorithm="",
    )
    browser = Client()
    assert browser.login(username="alice", password=PASSWORD)
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT,
        "scope": "read write", "state": "xyz", "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    form = browser.get("/oauth/authorize/", params)
    assert form.status_code == 200
    approved = browser.post("/oauth/authorize/", {**params, "allow": "Authorize"})
    assert approved.status_code == 302, approved.content
    query = parse_qs(urlparse(approved["Location"]).query)
    assert query["state"] == ["xyz"]

    app_client = Client()
    token = app_client.post("/oauth/token/", {
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT,
        "client_id": application.client_id, "code_verifier": verifier,
    })
    assert token.status_code == 200, token.content
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert app_client.get("/api/v1/acme/admin/tenant", headers=bearer).status_code == 200
    # The token has the write scope, but alice's membership is read-only: both must agree.
    denied = app_client.patch(
        "/api/v1/acme/admin/tenant",
        data={"tenant_params": {"webhook_interaction_storage_duration_in_days": 3}},
        content_type="application/json", headers=bearer,
    )
    assert denied.status_code == 403 and denied.json()["error"] == "No write permission"


@pytest.mark.django_db
def test_pkce_is_required(tenant):
    user, _ = services.create_admin(tenant=tenant, username="bob", email="b@example.com",
                                    can_read=True, can_write=False, password=PASSWORD)
    application = get_application_model().objects.create(
        name="no-pkce", user=user, client_type="public",
        authorization_grant_type="authorization-code", redirect_uris=REDIRECT, algorithm="",
    )
    browser = Client()
    browser.login(username="bob", password=PASSWORD)
    response = browser.get("/oauth/authorize/", {
        "response_type": "code", "client_id": application.client_id,
        "redirect_uri": REDIRECT, "scope": "read",
    })
    # Without a code challenge the request is refused (redirect with an error or an error page).
    location = response.get("Location", "")
    assert "code=" not in location
