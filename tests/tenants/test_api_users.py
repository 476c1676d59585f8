"""A17–A19: API users — success, validation, auth, permissions and tenant isolation."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher

from doxie.tenants.models import ApiUser
from tests.helpers import PASSWORD, basic_caller, make_admin_caller

BASE = "/api/v1/acme/admin/api_users"


def body(username="api-client", password=PASSWORD, confirmation=PASSWORD):
    return {
        "api_user": {
            "username": username,
            "password": password,
            "password_confirmation": confirmation,
        }
    }


@pytest.mark.django_db
def test_create_list_delete_roundtrip(api, admin, tenant):
    created = api.post(BASE, body(), caller=admin)
    assert created.status_code == 201, created.content
    payload = created.json()
    assert set(payload) == {"success", "message", "error", "data"}
    assert payload["success"] is True
    assert payload["message"] == "Erfolgreich erstellt"
    assert set(payload["data"]) == {"id", "username", "created_at", "updated_at"}
    assert payload["data"]["created_at"].endswith("Z")
    stored = ApiUser.objects.get(id=payload["data"]["id"])
    assert identify_hasher(stored.password_hash).algorithm == "argon2"
    assert PASSWORD not in stored.password_hash

    listed = api.get(BASE, caller=admin).json()
    assert listed["data"]["api_users"][0]["username"] == "api-client"
    assert listed["data"]["pagination"] == {
        "current_page": 1, "items_per_page": 200, "total_pages": 1, "total_count": 1,
    }

    deleted = api.delete(f"{BASE}/{stored.id}", caller=admin)
    assert deleted.status_code == 200
    assert deleted.json()["message"] == "API-Zugang erfolgreich gelöscht"
    assert deleted.json()["data"]["username"] == "api-client"
    assert not ApiUser.objects.filter(id=stored.id).exists()
    assert api.delete(f"{BASE}/{stored.id}", caller=admin).status_code == 404


@pytest.mark.django_db
def test_created_user_authenticates_public_api_and_english_messages(api, admin):
    response = api.post(BASE, body(), caller=admin, headers={"Accept-Language": "en"})
    assert response.json()["message"] == "Successfully created"


@pytest.mark.django_db
def test_pagination(api, admin, tenant):
    for i in range(5):
        assert api.post(BASE, body(f"user{i}"), caller=admin).status_code == 201
    page = api.get(f"{BASE}?limit=2&page=3", caller=admin).json()["data"]
    assert [u["username"] for u in page["api_users"]] == ["user4"]
    assert page["pagination"] == {
        "current_page": 3, "items_per_page": 2, "total_pages": 3, "total_count": 5,
    }
    assert api.get(f"{BASE}?limit=1001", caller=admin).status_code == 422
    assert api.get(f"{BASE}?page=0", caller=admin).status_code == 422
    assert api.get(f"{BASE}?limit=abc", caller=admin).status_code == 422


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "confirmation", "field", "fragment"),
    [
        ("Short1!a", "Short1!a", "password", "12 characters"),
        ("alllowercase1!", "alllowercase1!", "password", "upper-case"),
        ("ALLUPPERCASE1!", "ALLUPPERCASE1!", "password", "lower-case"),
        ("NoDigitsHere!!", "NoDigitsHere!!", "password", "digit"),
        ("NoSymbols12345", "NoSymbols12345", "password", "symbol"),
        (PASSWORD, PASSWORD + "x", "password_confirmation", "does not match"),
    ],
)
def test_password_policy(api, admin, password, confirmation, field, fragment):
    response = api.post(BASE, body(password=password, confirmation=confirmation), caller=admin)
    assert response.status_code == 422
    details = response.json()["details"]
    assert any(d["field"] == field and fragment in d["message"] for d in details), details
    assert ApiUser.objects.count() == 0


@pytest.mark.django_db
def test_validation_errors(api, admin):
    missing = api.post(BASE, {"api_user": {"username": "abc"}}, caller=admin)
    assert missing.status_code == 422
    fields = {d["field"] for d in missing.json()["details"]}
    assert {"api_user.password", "api_user.password_confirmation"} <= fields
    assert api.post(BASE, {}, caller=admin).status_code == 422
    assert api.post(BASE, body(username="a b"), caller=admin).status_code == 422
    assert api.post(BASE, {"api_user": "nope"}, caller=admin).status_code == 422


@pytest.mark.django_db
def test_duplicate_username_conflicts_within_tenant_only(api, admin, other_admin):
    assert api.post(BASE, body(), caller=admin).status_code == 201
    duplicate = api.post(BASE, body(), caller=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["success"] is False
    other = api.post("/api/v1/other/admin/api_users", body(), caller=other_admin)
    assert other.status_code == 201


@pytest.mark.django_db
def test_auth_and_permissions(api, tenant, reader, writer_without_read):
    assert api.get(BASE).status_code == 401
    assert "Bearer" in api.get(BASE)["WWW-Authenticate"]
    bad = api.get(BASE, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json() == {
        "success": False, "message": None, "error": "Invalid or expired access token",
        "data": None,
    }
    # Basic credentials are not accepted on the admin API.
    assert api.get(BASE, caller=basic_caller("x", "y")).status_code == 401
    assert api.get(BASE, caller=reader).status_code == 200
    denied = api.post(BASE, body(), caller=reader)
    assert denied.status_code == 403
    assert denied.json()["error"] == "No write permission"
    assert api.get(BASE, caller=writer_without_read).json()["error"] == "No read permission"
    assert api.post(BASE, body(), caller=writer_without_read).status_code == 201


@pytest.mark.django_db
def test_scope_and_membership_both_required(api, tenant):
    read_scope_only = make_admin_caller(tenant, read=True, write=True, scope="read")
    response = api.post(BASE, body(), caller=read_scope_only)
    assert response.status_code == 403
    assert response.json()["error"] == "No write permission"
    write_member_only = make_admin_caller(tenant, read=True, write=False, scope="read write")
    assert api.post(BASE, body(), caller=write_member_only).status_code == 403


@pytest.mark.django_db
def test_tenant_isolation(api, admin, other_admin, other_tenant):
    from doxie.tenants import services

    foreign = services.create_api_user(
        tenant=other_tenant, username="foreign", password=PASSWORD,
        password_confirmation=PASSWORD,
    )
    # Tenant A's token cannot see or touch tenant B at all.
    assert api.get("/api/v1/other/admin/api_users", caller=admin).status_code == 404
    assert api.delete(f"/api/v1/other/admin/api_users/{foreign.id}",
                      caller=admin).status_code == 404
    # Nor can B's user id be reached through A's path.
    assert api.delete(f"{BASE}/{foreign.id}", caller=admin).status_code == 404
    assert ApiUser.objects.filter(id=foreign.id).exists()
    assert "foreign" not in api.get(BASE, caller=admin).content.decode()
    # Unknown tenants: 404 for an authenticated caller, never a 500.
    assert api.get("/api/v1/nope/admin/api_users", caller=admin).status_code == 404
