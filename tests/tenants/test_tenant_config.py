"""A20–A21: tenant configuration."""

from __future__ import annotations

import pytest

BASE = "/api/v1/acme/admin/tenant"


@pytest.mark.django_db
def test_show_and_update(api, admin, tenant):
    shown = api.get(BASE, caller=admin, headers={"Accept": "application/json"})
    assert shown.status_code == 200
    data = shown.json()["data"]
    assert set(data) == {
        "slug", "activated_at", "webhook_interaction_storage_duration_in_days",
        "created_at", "updated_at",
    }
    assert data["slug"] == "acme" and data["webhook_interaction_storage_duration_in_days"] == 7

    body = {"tenant_params": {"webhook_interaction_storage_duration_in_days": 14}}
    updated = api.patch(BASE, body, caller=admin)
    assert updated.status_code == 200
    assert updated.json()["message"] == "Mandant erfolgreich aktualisiert"
    assert updated.json()["data"]["webhook_interaction_storage_duration_in_days"] == 14
    tenant.refresh_from_db()
    assert tenant.webhook_interaction_storage_duration_in_days == 14


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"tenant_params": {"webhook_interaction_storage_duration_in_days": 0}},
        {"tenant_params": {"webhook_interaction_storage_duration_in_days": "many"}},
        {"tenant_params": {"slug": "renamed"}},
        {"something": 1},
    ],
)
def test_update_validation(api, admin, tenant, body):
    response = api.patch(BASE, body, caller=admin)
    assert response.status_code == 422
    assert response.json()["details"]
    tenant.refresh_from_db()
    assert tenant.slug == "acme" and tenant.webhook_interaction_storage_duration_in_days == 7


@pytest.mark.django_db
def test_permissions_and_isolation(api, reader, writer_without_read, other_admin, tenant):
    body = {"tenant_params": {"webhook_interaction_storage_duration_in_days": 3}}
    assert api.get(BASE).status_code == 401
    assert api.patch(BASE, body).status_code == 401
    assert api.patch(BASE, body, caller=reader).json()["error"] == "No write permission"
    assert api.get(BASE, caller=writer_without_read).status_code == 403
    assert api.get(BASE, caller=other_admin).status_code == 404
    assert api.patch(BASE, body, caller=other_admin).status_code == 404
    tenant.refresh_from_db()
    assert tenant.webhook_interaction_storage_duration_in_days == 7
