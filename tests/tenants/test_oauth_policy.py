"""Which grants exist, who manages applications, and what a client's tokens may carry."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_application_model

from doxie.tenants import services
from doxie.tenants.models import OAuthClient
from tests.helpers import PASSWORD

REDIRECT = "http://127.0.0.1:9/cb"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def alice(tenant):
    user, _ = services.create_admin(tenant=tenant, username="alice", email="a@example.com",
                                    can_read=True, can_write=False, password=PASSWORD)
    return user


@pytest.mark.django_db
def test_password_grant_is_refused_the_same_way_for_every_client_and_user(tenant, alice):
    model = get_application_model()
    password_app = model(name="legacy", user=alice, client_type="confidential",
                         authorization_grant_type="password", client_secret="s3cret-legacy",
                         algorithm="")
    password_app.save()
    service = services.create_oauth_client(tenant=tenant, scopes=["read"])
    answers = set()
    for client_id, secret in ((password_app.client_id, "s3cret-legacy"),
                              (service.client_id, service.client_secret),
                              ("no-such-client", "nope")):
        for username, password in (("alice", PASSWORD), ("alice", "wrong"), ("ghost", "x")):
            response = Client().post("/oauth/token", {
                "grant_type": "password", "username": username, "password": password,
            }, headers=_basic(client_id, secret))
            answers.add((response.status_code, response.content))
    assert answers == {(400, b'{"error": "unsupported_grant_type"}')}
    assert not get_access_token_model().objects.exists()


@pytest.mark.django_db
def test_implicit_grant_is_refused(tenant, alice):
    app = get_application_model().objects.create(
        name="spa", user=alice, client_type="public", authorization_grant_type="implicit",
        redirect_uris=REDIRECT, algorithm="",
    )
    browser = Client()
    assert browser.login(username="alice", password=PASSWORD)
    for method in (browser.get, browser.post):
        response = method("/oauth/authorize", {
            "response_type": "token", "client_id": app.client_id, "redirect_uri": REDIRECT,
            "scope": "read", "allow": "Authorize",
        })
        location = response.get("Location", "")
        assert "access_token" not in location
        assert response.status_code in (200, 302, 400)
        if location:
            assert "unsupported_response_type" in location or "error" in location
    assert not get_access_token_model().objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/oauth/applications/", "/oauth/applications/register/",
                                  "/oauth/applications"])
def test_application_pages_are_for_superusers_only(tenant, alice, path):
    assert Client().get(path)["Location"].startswith("/admin/login/")
    staff = Client()
    staff.login(username="alice", password=PASSWORD)
    assert staff.get(path).status_code == 403
    registered = staff.post("/oauth/applications/register/", {
        "name": "x", "client_type": "public", "authorization_grant_type": "password",
        "redirect_uris": REDIRECT, "algorithm": "",
    })
    assert registered.status_code == 403
    assert not get_application_model().objects.filter(name="x").exists()

    get_user_model().objects.create_superuser("root", "r@example.com", PASSWORD)
    root = Client()
    root.login(username="root", password=PASSWORD)
    assert root.get(path).status_code == 200


@pytest.mark.django_db
def test_application_detail_pages_are_for_superusers_only(tenant, alice):
    creds = services.create_oauth_client(tenant=tenant, scopes=["read"])
    app = get_application_model().objects.get(client_id=creds.client_id)
    staff = Client()
    staff.login(username="alice", password=PASSWORD)
    for suffix in ("", "update/", "delete/"):
        assert staff.get(f"/oauth/applications/{app.pk}/{suffix}").status_code == 403
    assert staff.post(f"/oauth/applications/{app.pk}/delete/").status_code == 403
    assert get_application_model().objects.filter(pk=app.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("registered", "requested", "issued"), [
    (["read"], None, "read"),
    (["read"], "read", "read"),
    (["read", "write"], None, "read write"),
    (["write", "read"], "write", "write"),
    (["write"], None, "write"),
])
def test_scopes_follow_the_client(tenant, registered, requested, issued):
    creds = services.create_oauth_client(tenant=tenant, scopes=registered)
    form = {"grant_type": "client_credentials", **({"scope": requested} if requested else {})}
    response = Client().post("/oauth/token", form,
                             headers=_basic(creds.client_id, creds.client_secret))
    assert response.status_code == 200, response.content
    assert sorted(response.json()["scope"].split()) == sorted(issued.split())


@pytest.mark.django_db
def test_a_read_client_cannot_ask_for_write(tenant):
    creds = services.create_oauth_client(tenant=tenant, scopes=["read"])
    assert OAuthClient.objects.get(application__client_id=creds.client_id).scopes == "read"
    response = Client().post("/oauth/token", {"grant_type": "client_credentials",
                                              "scope": "write"},
                             headers=_basic(creds.client_id, creds.client_secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


@pytest.mark.django_db
def test_issued_tokens_are_stored_hashed_and_still_authenticate(tenant):
    creds = services.create_oauth_client(tenant=tenant, scopes=["read", "write"])
    client = Client()
    raw = client.post("/oauth/token", {"grant_type": "client_credentials"},
                      headers=_basic(creds.client_id, creds.client_secret)).json()["access_token"]
    stored = get_access_token_model().objects.get()
    assert stored.token == "" and raw not in str(stored.__dict__)
    assert len(stored.token_checksum) == 64
    bearer = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/acme/admin/tenant", headers=bearer).status_code == 200
    # The checksum itself is not a credential.
    assert client.get("/api/v1/acme/admin/tenant", headers={
        "Authorization": f"Bearer {stored.token_checksum}"}).status_code == 401


def _code_flow_location(browser: Client, app, **extra) -> str:
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
              "scope": "read", "state": "s", "code_challenge": challenge.decode().rstrip("="),
              "code_challenge_method": "S256", **extra}
    response = browser.post("/oauth/authorize", {**params, "allow": "Authorize"})
    return response.get("Location", "")


@pytest.mark.django_db
def test_authorization_code_still_works_without_a_client_policy_row(tenant, alice):
    app = get_application_model().objects.create(
        name="dashboard", user=alice, client_type="public",
        authorization_grant_type="authorization-code", redirect_uris=REDIRECT, algorithm="",
    )
    browser = Client()
    browser.login(username="alice", password=PASSWORD)
    location = _code_flow_location(browser, app)
    assert "code" in parse_qs(urlparse(location).query), location
