"""A6–A8 against the local Mailjet (REST v3 ``eventcallbackurl``)."""

from __future__ import annotations

import pytest

from tests.brands.conftest import PUBLIC_URL
from tests.brands.payloads import BASE, make_bare_brand, make_brand

ALL_TYPES = ["sent", "open", "click", "bounce", "spam", "blocked", "unsub"]


def _url(brand) -> str:
    return f"{BASE}/{brand.id}/mailjet_webhooks"


@pytest.mark.django_db
def test_register_status_delete_roundtrip(api, admin, tenant, fake_mailjet):
    brand = make_brand(tenant)
    hook = f"{PUBLIC_URL}/hooks/mailjet/{brand.inbound_token}"

    before = api.get(_url(brand), caller=admin)
    assert before.status_code == 200, before.content
    assert before.json() == {
        "success": True, "message": None, "error": None,
        "data": {"brand_id": brand.id, "webhooks_present": False,
                 "registered_event_types": [], "error_message": None},
    }

    registered = api.post(_url(brand), caller=admin)
    assert registered.status_code == 200, registered.content
    body = registered.json()
    assert body["message"] == "Erfolgreich bearbeitet"
    assert body["data"] == {
        "brand_id": brand.id, "webhooks_present": True,
        "registered_event_types": ALL_TYPES, "error_message": None,
    }
    assert fake_mailjet.callbacks_by_type() == dict.fromkeys(ALL_TYPES, hook)
    state = {cb_id: dict(cb) for cb_id, cb in fake_mailjet.callbacks.items()}
    assert all(cb["Version"] == 2 and cb["Status"] == "alive" for cb in state.values())

    again = api.post(_url(brand), caller=admin)
    assert again.status_code == 200
    assert again.json()["data"] == body["data"]
    assert {cb_id: dict(cb) for cb_id, cb in fake_mailjet.callbacks.items()} == state

    status = api.get(_url(brand), caller=admin).json()["data"]
    assert status["webhooks_present"] is True
    assert status["registered_event_types"] == ALL_TYPES

    deleted = api.delete(_url(brand), caller=admin)
    assert deleted.status_code == 200, deleted.content
    assert deleted.json()["message"] == "Erfolgreich bearbeitet"
    assert deleted.json()["data"] == {
        "brand_id": brand.id, "webhooks_present": False,
        "registered_event_types": [], "error_message": None,
    }
    assert fake_mailjet.callbacks == {}
    # Deleting when nothing is registered is fine.
    assert api.delete(_url(brand), caller=admin).status_code == 200


@pytest.mark.django_db
def test_customer_callbacks_are_reported_and_survive_delete(api, admin, tenant, fake_mailjet):
    brand = make_brand(tenant)
    fake_mailjet.add_callback("click", "https://customer.example/mailjet")
    status = api.get(_url(brand), caller=admin).json()["data"]
    assert status["webhooks_present"] is False
    assert status["error_message"] == "Event types calling back to another URL: click"

    api.delete(_url(brand), caller=admin)
    assert fake_mailjet.callbacks_by_type() == {"click": "https://customer.example/mailjet"}

    # Registering takes the event type over (Mailjet allows one callback per type).
    data = api.post(_url(brand), caller=admin).json()["data"]
    assert data["registered_event_types"] == ALL_TYPES
    assert data["error_message"] is None
    assert len(fake_mailjet.callbacks) == len(ALL_TYPES)


@pytest.mark.django_db
def test_dead_callbacks_are_not_active_and_get_revived(api, admin, tenant, fake_mailjet):
    brand = make_brand(tenant)
    hook = f"{PUBLIC_URL}/hooks/mailjet/{brand.inbound_token}"
    fake_mailjet.add_callback("open", hook, version=2, status="dead")
    assert api.get(_url(brand), caller=admin).json()["data"]["registered_event_types"] == []
    api.post(_url(brand), caller=admin)
    assert all(cb["Status"] == "alive" for cb in fake_mailjet.callbacks.values())


@pytest.mark.django_db
def test_missing_credentials_is_422(api, admin, tenant, fake_mailjet):
    brand = make_bare_brand(tenant)
    for method in ("get", "post", "delete"):
        response = getattr(api, method)(_url(brand), caller=admin)
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "mailjet_api_user"
    assert fake_mailjet.requests == []


@pytest.mark.django_db
def test_rejected_credentials_are_502_with_the_reason(api, admin, tenant, fake_mailjet):
    brand = make_brand(tenant, mailjet_api_user_attributes={
        "public_api_key": "mj-public", "private_api_key": "wrong-key",
    })
    response = api.post(_url(brand), caller=admin)
    assert response.status_code == 502
    body = response.json()
    assert body["success"] is False and body["data"] is None
    assert body["error"].startswith("mailjet: HTTP 401")
    assert "wrong-key" not in response.content.decode()


@pytest.mark.django_db
def test_provider_down_or_throttling_is_503_with_retry_after(api, admin, tenant, fake_mailjet):
    brand = make_brand(tenant)
    fake_mailjet.fail_next(1, status=500)
    down = api.get(_url(brand), caller=admin)
    assert down.status_code == 503
    assert down["Retry-After"] == "30"
    assert down.json()["error"].startswith("mailjet: HTTP 500")

    fake_mailjet.throttle_next(1, retry_after="7")
    throttled = api.post(_url(brand), caller=admin)
    assert throttled.status_code == 503
    assert throttled["Retry-After"] == "7"


@pytest.mark.django_db
def test_unreachable_provider_is_503(api, admin, tenant, settings):
    from tests.fakes.smtp_server import free_port

    settings.DOXIE_MAILJET_API_URL = f"http://127.0.0.1:{free_port()}"
    brand = make_brand(tenant)
    response = api.get(_url(brand), caller=admin)
    assert response.status_code == 503
    assert "connection failed" in response.json()["error"]
