"""The `doxie` management commands, run as real processes against the test database."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from doxie.tenants.models import ApiUser, Membership, Tenant
from tests.helpers import PASSWORD, run_doxie


@pytest.mark.django_db(transaction=True)
def test_create_tenant_and_api_user():
    created = run_doxie("create_tenant", "shop", "--name", "Shop GmbH")
    assert created.returncode == 0, created.stderr
    assert Tenant.objects.get(slug="shop").name == "Shop GmbH"

    duplicate = run_doxie("create_tenant", "shop")
    assert duplicate.returncode != 0
    assert duplicate.stderr.strip().count("\n") == 0
    assert "already exists" in duplicate.stderr and "Traceback" not in duplicate.stderr

    bad_slug = run_doxie("create_tenant", "Bad Slug!")
    assert bad_slug.returncode != 0 and "Traceback" not in bad_slug.stderr

    user = run_doxie("create_api_user", "shop", "shop-api", "--password", PASSWORD)
    assert user.returncode == 0, user.stderr
    assert ApiUser.objects.filter(tenant__slug="shop", username="shop-api").exists()

    weak = run_doxie("create_api_user", "shop", "weak", "--password", "short")
    assert weak.returncode != 0 and "12 characters" in weak.stderr
    assert "Traceback" not in weak.stderr
    unknown = run_doxie("create_api_user", "nope", "x-user", "--password", PASSWORD)
    assert unknown.returncode != 0 and "Tenant not found" in unknown.stderr


@pytest.mark.django_db(transaction=True)
def test_oauth_client_credentials_end_to_end():
    run_doxie("create_tenant", "shop")
    result = run_doxie("create_oauth_client", "shop", "--scopes", "read", "--json")
    assert result.returncode == 0, result.stderr
    creds = json.loads(result.stdout.strip())
    assert set(creds) == {"client_id", "client_secret"}

    client = Client()
    basic = "Basic " + _b64(f"{creds['client_id']}:{creds['client_secret']}")
    token_response = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        headers={"Authorization": basic},
    )
    assert token_response.status_code == 200, token_response.content
    token = token_response.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/shop/admin/tenant", headers=auth).status_code == 200
    # Read-only client: writes are refused, other tenants are invisible.
    denied = client.patch(
        "/api/v1/shop/admin/tenant",
        data={"tenant_params": {"webhook_interaction_storage_duration_in_days": 2}},
        content_type="application/json", headers=auth,
    )
    assert denied.status_code == 403
    run_doxie("create_tenant", "elsewhere")
    assert client.get("/api/v1/elsewhere/admin/tenant", headers=auth).status_code == 404

    bad = run_doxie("create_oauth_client", "shop", "--scopes", "admin")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


@pytest.mark.django_db(transaction=True)
def test_create_admin_can_log_into_admin_ui():
    run_doxie("create_tenant", "shop")
    result = run_doxie("create_admin", "shop", "alice", "--email", "alice@example.com",
                       "--read", "--write", "--password", PASSWORD)
    assert result.returncode == 0, result.stderr
    membership = Membership.objects.get(user__username="alice")
    assert membership.can_read and membership.can_write
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    assert client.get("/admin/").status_code == 200

    bad_email = run_doxie("create_admin", "shop", "bob", "--email", "not-an-email")
    assert bad_email.returncode != 0 and "Traceback" not in bad_email.stderr
    again = run_doxie("create_admin", "shop", "alice", "--email", "alice@example.com")
    assert again.returncode != 0 and "already exists" in again.stderr


def _b64(value: str) -> str:
    import base64

    return base64.b64encode(value.encode()).decode()
