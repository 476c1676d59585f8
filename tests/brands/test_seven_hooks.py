"""A9–A14 against the local seven.io gateway (``/api/hooks``)."""

from __future__ import annotations

import pytest

from tests.brands.conftest import PUBLIC_URL
from tests.brands.payloads import BASE, make_bare_brand, make_brand

# (path segment, seven.io event type, brand key field)
CHANNELS = [("rcs_webhook", "rcs", "rcs_api_key"), ("sms_webhook", "dlr", "sms77_api_key")]


def _brand(tenant, fake_seven, **overrides):
    return make_brand(
        tenant, sms77_api_key=fake_seven.api_key, rcs_api_key=fake_seven.api_key, **overrides
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("segment", "event_type", "key_field"), CHANNELS)
def test_register_status_delete(api, admin, tenant, fake_seven, segment, event_type, key_field):
    brand = _brand(tenant, fake_seven)
    url = f"{BASE}/{brand.id}/{segment}"
    target = f"{PUBLIC_URL}/hooks/seven/{brand.inbound_token}"

    assert api.get(url, caller=admin).json() == {
        "success": True, "message": None, "error": None,
        "data": {"brand_id": brand.id, "webhooks_present": False},
    }
    registered = api.post(url, caller=admin)
    assert registered.status_code == 200, registered.content
    assert registered.json() == {
        "success": True, "message": "Erfolgreich bearbeitet", "error": None,
        "data": {"brand_id": brand.id, "webhooks_present": True},
    }
    [hook] = fake_seven.hooks.values()
    assert hook["target_url"] == target
    assert hook["event_type"] == event_type
    assert hook["request_method"] == "JSON"

    assert api.post(url, caller=admin).status_code == 200  # idempotent
    assert len(fake_seven.hooks) == 1
    assert api.get(url, caller=admin).json()["data"]["webhooks_present"] is True

    deleted = api.delete(url, caller=admin)
    assert deleted.status_code == 200
    assert deleted.json()["data"] == {"brand_id": brand.id, "webhooks_present": False}
    assert fake_seven.hooks == {}
    assert api.delete(url, caller=admin).status_code == 200  # nothing left: still fine
    assert api.get(url, caller=admin).json()["data"]["webhooks_present"] is False


@pytest.mark.django_db
def test_channels_are_independent_and_customer_hooks_survive(api, admin, tenant, fake_seven):
    brand = _brand(tenant, fake_seven)
    customer = fake_seven.add_hook("https://customer.example/dlr", "dlr")
    assert api.post(f"{BASE}/{brand.id}/rcs_webhook", caller=admin).status_code == 200
    sms = api.get(f"{BASE}/{brand.id}/sms_webhook", caller=admin).json()["data"]
    assert sms["webhooks_present"] is False
    api.post(f"{BASE}/{brand.id}/sms_webhook", caller=admin)
    api.delete(f"{BASE}/{brand.id}/sms_webhook", caller=admin)
    remaining = {(h["event_type"], h["target_url"]) for h in fake_seven.hooks.values()}
    assert remaining == {
        ("dlr", "https://customer.example/dlr"),
        ("rcs", f"{PUBLIC_URL}/hooks/seven/{brand.inbound_token}"),
    }
    assert customer in fake_seven.hooks


@pytest.mark.django_db
@pytest.mark.parametrize(("segment", "event_type", "key_field"), CHANNELS)
def test_missing_key_is_422(api, admin, tenant, fake_seven, segment, event_type, key_field):
    brand = make_bare_brand(tenant)
    for method in ("get", "post", "delete"):
        response = getattr(api, method)(f"{BASE}/{brand.id}/{segment}", caller=admin)
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == key_field
    assert fake_seven.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(("segment", "event_type", "key_field"), CHANNELS)
def test_wrong_key_is_502(api, admin, tenant, fake_seven, segment, event_type, key_field):
    brand = make_brand(tenant, **{key_field: "wrong-seven-key"})
    response = api.post(f"{BASE}/{brand.id}/{segment}", caller=admin)
    assert response.status_code == 502
    assert response.json()["error"] == "seven.io: 900 authentication failed (check the API key)"
    assert "wrong-seven-key" not in response.content.decode()


@pytest.mark.django_db
def test_gateway_trouble_is_503(api, admin, tenant, fake_seven):
    brand = _brand(tenant, fake_seven)
    fake_seven.fail_next(1, status=502)
    response = api.get(f"{BASE}/{brand.id}/rcs_webhook", caller=admin)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["success"] is False
