"""A23–A27 and the extras (rotate, test, resend): success, validation, auth, permissions and
tenant isolation."""

from __future__ import annotations

import pytest
from django.db import connection

from doxie.core.crypto import ENCRYPTED_PREFIX
from doxie.webhooks import services
from doxie.webhooks.models import WebhookEndpoint, WebhookInteraction
from tests.webhooks.support import MESSAGE_SENT, message_sent

BASE = "/api/v1/acme/admin/webhook_endpoints"
SEED_KEYS = {"id", "type", "basic_auth_username", "basic_auth_password", "is_active",
             "send_original_payload"}


def body(**overrides):
    fields = {
        "type": "Webhook::MessageSentEndpoint",
        "url": "https://hooks.example.com/doxie",
        "basic_auth_username": "username",
        "basic_auth_password": "password",
        "is_active": True,
        "send_original_payload": False,
    }
    fields.update(overrides)
    return {"webhook_abstract_endpoint": {k: v for k, v in fields.items() if v is not ...}}


@pytest.mark.django_db
def test_create_show_update_delete_roundtrip(api, admin, tenant):
    created = api.post(BASE, body(), caller=admin)
    assert created.status_code == 201, created.content
    payload = created.json()
    assert set(payload) == {"success", "message", "error", "data"}
    assert payload["message"] == "Webhook erfolgreich erstellt"
    data = payload["data"]
    assert SEED_KEYS <= set(data)
    assert isinstance(data["id"], str)
    assert data["basic_auth_password"] == "********"
    assert data["url"] == "https://hooks.example.com/doxie"
    assert data["signing_secret"].startswith("whsec_")
    assert data["created_at"].endswith("Z")

    stored = WebhookEndpoint.objects.get(id=int(data["id"]))
    assert stored.basic_auth_password == "password"
    with connection.cursor() as cursor:
        cursor.execute("SELECT basic_auth_password, signing_secret FROM "
                       "webhooks_webhookendpoint WHERE id = %s", [stored.id])
        raw_password, raw_secret = cursor.fetchone()
    assert raw_password.startswith(ENCRYPTED_PREFIX) and raw_secret.startswith(ENCRYPTED_PREFIX)

    shown = api.get(f"{BASE}/{data['id']}", caller=admin).json()["data"]
    assert "signing_secret" not in shown
    assert shown["interactions"] == {
        "list": [],
        "pagination": {"current_page": 1, "items_per_page": 200, "total_pages": 0,
                       "total_count": 0},
    }

    updated = api.patch(
        f"{BASE}/{data['id']}",
        {"webhook_abstract_endpoint": {"send_original_payload": True,
                                       "basic_auth_password": "********"}},
        caller=admin,
    )
    assert updated.status_code == 200
    assert updated.json()["message"] == "Webhook endpoint updated successfully"
    assert updated.json()["data"]["send_original_payload"] is True
    assert "signing_secret" not in updated.json()["data"]
    stored.refresh_from_db()
    assert stored.basic_auth_password == "password"  # the mask keeps it

    put = api.put(f"{BASE}/{data['id']}",
                  {"webhook_abstract_endpoint": {"basic_auth_password": None}}, caller=admin)
    assert put.status_code == 200
    assert put.json()["data"]["basic_auth_password"] is None
    stored.refresh_from_db()
    assert stored.basic_auth_password is None

    deleted = api.delete(f"{BASE}/{data['id']}", caller=admin)
    assert deleted.status_code == 200
    assert deleted.json()["message"] == "Webhook endpoint deleted successfully"
    assert deleted.json()["data"]["id"] == data["id"]
    assert not WebhookEndpoint.objects.filter(id=stored.id).exists()
    assert api.delete(f"{BASE}/{data['id']}", caller=admin).status_code == 404


@pytest.mark.django_db
def test_english_messages(api, admin):
    response = api.post(BASE, body(), caller=admin, headers={"Accept-Language": "en"})
    assert response.json()["message"] == "Webhook successfully created"


@pytest.mark.django_db
def test_list_filters_inactive_and_paginates(api, admin, tenant):
    for i in range(3):
        created = api.post(BASE, body(url=f"https://h{i}.example.com/"), caller=admin)
        assert created.status_code == 201
    assert api.post(BASE, body(is_active=False), caller=admin).status_code == 201
    listed = api.get(BASE, caller=admin).json()["data"]
    assert len(listed["endpoints"]) == 3
    assert all(e["is_active"] for e in listed["endpoints"])
    assert all("signing_secret" not in e for e in listed["endpoints"])
    everything = api.get(f"{BASE}?show_inactive=true", caller=admin).json()["data"]
    assert everything["pagination"]["total_count"] == 4
    page = api.get(f"{BASE}?show_inactive=true&limit=3&page=2", caller=admin).json()["data"]
    assert len(page["endpoints"]) == 1
    assert page["pagination"] == {"current_page": 2, "items_per_page": 3, "total_pages": 2,
                                  "total_count": 4}
    assert api.get(f"{BASE}?limit=0", caller=admin).status_code == 422


@pytest.mark.django_db
def test_show_lists_interactions_newest_first_with_pagination(api, admin, tenant):
    endpoint, _ = services.create_endpoint(tenant=tenant, type="Webhook::MessageSentEndpoint",
                                           url="https://hooks.example.com/")
    for i in range(3):
        services.emit(tenant=tenant, event=message_sent(text=str(i)))
    data = api.get(f"{BASE}/{endpoint.id}?limit=2", caller=admin).json()["data"]
    interactions = data["interactions"]
    assert interactions["pagination"] == {"current_page": 1, "items_per_page": 2,
                                          "total_pages": 2, "total_count": 3}
    first = interactions["list"][0]
    assert first["sent_payload"]["text"] == "2"
    assert interactions["list"][1]["sent_payload"]["text"] == "1"
    assert {"id", "created_at", "process_id", "requested_method", "response_code",
            "retry_count", "sent_payload", "transaction_payload", "response_payload",
            "status", "duration_ms", "error", "next_attempt_at"} <= set(first)
    assert isinstance(first["id"], str)
    assert first["process_id"] == MESSAGE_SENT["process_id"]
    assert first["status"] == "pending" and first["retry_count"] == 0
    assert first["requested_method"] == "POST"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(type="Webhook::Nope"), "webhook_abstract_endpoint.type"),
        (body(type=...), "webhook_abstract_endpoint.type"),
        (body(url=...), "webhook_abstract_endpoint.url"),
        (body(url="ftp://hooks.example.com/"), "webhook_abstract_endpoint.url"),
        (body(url="not a url"), "webhook_abstract_endpoint.url"),
        (body(url="https://user:pw@hooks.example.com/"), "webhook_abstract_endpoint.url"),
        (body(extra="x"), "webhook_abstract_endpoint.extra"),
        (body(basic_auth_username=None), "basic_auth_username"),
        ({"webhook_abstract_endpoint": body()["webhook_abstract_endpoint"], "x": 1}, "x"),
        ({}, "webhook_abstract_endpoint"),
    ],
)
def test_create_validation(api, admin, payload, field):
    response = api.post(BASE, payload, caller=admin)
    assert response.status_code == 422, response.content
    assert field in {d["field"] for d in response.json()["details"]}, response.json()
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_private_and_plain_http_urls_refused_unless_allowed(api, admin, settings):
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    for url in ("http://hooks.example.com/", "https://127.0.0.1/", "https://10.0.0.1/",
                "https://[::1]/", "https://169.254.169.254/latest"):
        response = api.post(BASE, body(url=url), caller=admin)
        assert response.status_code == 422, url
        (detail,) = response.json()["details"]
        assert detail["field"] == "webhook_abstract_endpoint.url"
        assert "https" in detail["message"] or "address" in detail["message"], detail
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    assert api.post(BASE, body(url="http://127.0.0.1:9/"), caller=admin).status_code == 201


@pytest.mark.django_db
def test_update_validation(api, admin, tenant):
    endpoint, _ = services.create_endpoint(tenant=tenant, type="Webhook::LinkClickedEndpoint",
                                           url="https://hooks.example.com/")
    path = f"{BASE}/{endpoint.id}"
    for change in ({"type": "nope"}, {"url": "gopher://x/"}, {"url": None},
                   {"is_active": None}, {"unknown": 1}):
        response = api.patch(path, {"webhook_abstract_endpoint": change}, caller=admin)
        assert response.status_code == 422, change
    assert api.patch(path, {"other": {}}, caller=admin).status_code == 422
    endpoint.refresh_from_db()
    assert endpoint.type == "Webhook::LinkClickedEndpoint"


@pytest.mark.django_db
def test_deactivating_fails_pending_and_reactivating_clears(api, admin, tenant):
    endpoint, _ = services.create_endpoint(tenant=tenant, type="Webhook::MessageSentEndpoint",
                                           url="https://hooks.example.com/")
    services.emit(tenant=tenant, event=message_sent())
    off = api.patch(f"{BASE}/{endpoint.id}", {"webhook_abstract_endpoint": {"is_active": False}},
                    caller=admin)
    assert off.json()["data"]["is_active"] is False
    interaction = WebhookInteraction.objects.get()
    assert interaction.status == "failed" and "deactivated" in interaction.error
    on = api.patch(f"{BASE}/{endpoint.id}", {"webhook_abstract_endpoint": {"is_active": True}},
                   caller=admin)
    assert on.json()["data"]["deactivation_reason"] is None


@pytest.mark.django_db
def test_rotate_secret_returns_new_secret_once(api, admin, tenant):
    created = api.post(BASE, body(), caller=admin).json()["data"]
    rotated = api.post(f"{BASE}/{created['id']}/rotate_secret", caller=admin)
    assert rotated.status_code == 200
    secret = rotated.json()["data"]["signing_secret"]
    assert secret.startswith("whsec_") and secret != created["signing_secret"]
    endpoint = WebhookEndpoint.objects.get(id=int(created["id"]))
    assert endpoint.signing_secret == secret
    assert endpoint.previous_signing_secret == created["signing_secret"]


@pytest.mark.django_db
def test_test_and_resend_queue_interactions(api, admin, tenant):
    created = api.post(BASE, body(), caller=admin).json()["data"]
    ping = api.post(f"{BASE}/{created['id']}/test", caller=admin)
    assert ping.status_code == 200, ping.content
    data = ping.json()["data"]
    assert data["event"] == "ping" and data["status"] == "pending"
    assert data["webhook_id"].startswith("msg_")
    again = api.post(f"{BASE}/{created['id']}/interactions/{data['id']}/resend", caller=admin)
    assert again.status_code == 200
    assert again.json()["data"]["webhook_id"] == data["webhook_id"]
    assert again.json()["data"]["id"] != data["id"]
    assert api.post(f"{BASE}/{created['id']}/interactions/999999/resend",
                    caller=admin).status_code == 404
    api.patch(f"{BASE}/{created['id']}", {"webhook_abstract_endpoint": {"is_active": False}},
              caller=admin)
    inactive = api.post(f"{BASE}/{created['id']}/interactions/{data['id']}/resend", caller=admin)
    assert inactive.status_code == 409


@pytest.mark.django_db
def test_auth_and_permissions(api, tenant, admin, reader, writer_without_read):
    endpoint_id = api.post(BASE, body(), caller=admin).json()["data"]["id"]
    one = f"{BASE}/{endpoint_id}"
    assert api.get(BASE).status_code == 401
    assert "Bearer" in api.get(BASE)["WWW-Authenticate"]
    assert api.post(BASE, body()).status_code == 401
    assert api.get(one, headers={"Authorization": "Bearer nope"}).status_code == 401

    assert api.get(BASE, caller=reader).status_code == 200
    assert api.get(one, caller=reader).status_code == 200
    for method, path, payload in [
        ("post", BASE, body()),
        ("patch", one, {"webhook_abstract_endpoint": {"is_active": False}}),
        ("put", one, {"webhook_abstract_endpoint": {"is_active": False}}),
        ("delete", one, None),
        ("post", f"{one}/rotate_secret", None),
        ("post", f"{one}/test", None),
    ]:
        response = api.request(method, path, payload, caller=reader)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == "No write permission"
    for path in (BASE, one):
        response = api.get(path, caller=writer_without_read)
        assert response.status_code == 403
        assert response.json()["error"] == "No read permission"
    assert api.post(BASE, body(), caller=writer_without_read).status_code == 201


@pytest.mark.django_db
def test_tenant_isolation(api, admin, other_admin, other_tenant):
    foreign, _ = services.create_endpoint(
        tenant=other_tenant, type="Webhook::QrCodeScannedEndpoint", url="https://h.example.com/"
    )
    ping = services.send_test(tenant=other_tenant, endpoint_id=foreign.id)
    one = f"{BASE}/{foreign.id}"
    assert api.get(one, caller=admin).status_code == 404
    assert api.patch(one, {"webhook_abstract_endpoint": {"is_active": False}},
                     caller=admin).status_code == 404
    assert api.delete(one, caller=admin).status_code == 404
    assert api.post(f"{one}/rotate_secret", caller=admin).status_code == 404
    assert api.post(f"{one}/test", caller=admin).status_code == 404
    assert api.post(f"{one}/interactions/{ping.id}/resend", caller=admin).status_code == 404
    assert api.get(BASE + "?show_inactive=true", caller=admin).json()["data"]["endpoints"] == []
    # Their own admin sees it; our token on their slug is a 404 too.
    assert api.get(f"/api/v1/other/admin/webhook_endpoints/{foreign.id}",
                   caller=other_admin).status_code == 200
    assert api.get(f"/api/v1/other/admin/webhook_endpoints/{foreign.id}",
                   caller=admin).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "1.5", "99999999999999999999"])
def test_malformed_ids_are_404(api, admin, bad_id):
    assert api.get(f"{BASE}/{bad_id}", caller=admin).status_code == 404


@pytest.mark.django_db
def test_openapi_documents_operations(api):
    schema = api.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/{tenant}/admin/webhook_endpoints"])
    one = paths["/api/v1/{tenant}/admin/webhook_endpoints/{endpoint_id}"]
    assert {"get", "patch", "put", "delete"} <= set(one)
    for extra in ("rotate_secret", "test"):
        assert f"/api/v1/{{tenant}}/admin/webhook_endpoints/{{endpoint_id}}/{extra}" in paths
    resend = ("/api/v1/{tenant}/admin/webhook_endpoints/{endpoint_id}/interactions/"
              "{interaction_id}/resend")
    assert "Beyond the seed" in paths[resend]["post"]["description"]
    assert {"201", "401", "403", "422"} <= set(
        paths["/api/v1/{tenant}/admin/webhook_endpoints"]["post"]["responses"])
