"""P6 ``POST /api/v1/{tenant}/qr_codes/{event_slug}``: success, validation, auth, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from doxie.processes.models import Event, Process
from doxie.qrcodes.models import QrCode
from tests.qrcodes.support import PUBLIC_URL, TARGET, make_brand, make_qr_event

URL = "/api/v1/acme/qr_codes/flyer"


@pytest.mark.django_db
def test_create_with_event_defaults(api, api_caller, qr_event):
    before = datetime.now(UTC)
    response = api.post(URL, {"campaign": "summer"}, caller=api_caller)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "error_message", "process_uuid", "data"}
    assert body["success"] is True and body["error_message"] is None
    code = QrCode.objects.get()
    data = body["data"]
    assert data == {
        "uuid": str(code.uuid),
        "valid_until": data["valid_until"],
        "url": f"{PUBLIC_URL}/qr/{code.uuid}",
        "png_url": f"{PUBLIC_URL}/qr/{code.uuid}.png",
        "svg_url": f"{PUBLIC_URL}/qr/{code.uuid}.svg",
    }
    assert data["valid_until"].endswith("Z") and "." not in data["valid_until"]
    valid_until = datetime.fromisoformat(data["valid_until"].replace("Z", "+00:00"))
    assert timedelta(days=30) - timedelta(seconds=5) < valid_until - before < timedelta(days=31)
    process = Process.objects.get(uuid=body["process_uuid"])
    assert (process.kind, process.status, process.original_payload) == (
        "qr", "active", {"campaign": "summer"})
    assert code.process == process and code.target_url == TARGET
    assert code.style == {"dark": "#111111", "light": "#ffffff", "error_correction": "m",
                          "border": 4}


@pytest.mark.django_db
def test_payload_overrides_target_and_validity(api, api_caller, qr_event):
    response = api.post(URL, {"campaign": "x", "target_url": "http://shop.example.org/a?b=1",
                              "valid_until": "2099-06-30T12:00:00+02:00"}, caller=api_caller)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["valid_until"] == "2099-06-30T10:00:00Z"
    code = QrCode.objects.get()
    assert code.target_url == "http://shop.example.org/a?b=1"


@pytest.mark.django_db
def test_null_valid_until_never_expires(api, api_caller, qr_event):
    response = api.post(URL, {"campaign": "x", "valid_until": None}, caller=api_caller)
    assert response.status_code == 200
    assert response.json()["data"]["valid_until"] is None
    assert QrCode.objects.get().valid_until is None


@pytest.mark.django_db
def test_event_without_validity_or_settings(api, api_caller, tenant):
    brand = make_brand(tenant)
    Event.objects.create(tenant=tenant, slug="bare", kind="qr", brand=brand)
    url = "/api/v1/acme/qr_codes/bare"
    missing = api.post(url, {}, caller=api_caller)
    assert missing.status_code == 422
    assert missing.json()["details"] == [{"field": "target_url",
                                          "message": "is required: the event has no "
                                                     "default target"}]
    ok = api.post(url, {"target_url": TARGET}, caller=api_caller)
    assert ok.status_code == 200 and ok.json()["data"]["valid_until"] is None


@pytest.mark.django_db
def test_missing_required_parameters_listed(api, api_caller, tenant):
    make_qr_event(tenant, parameters=[{"name": "campaign", "required": True},
                                      {"name": "region", "required": True},
                                      {"name": "note"}])
    response = api.post(URL, {"region": "  "}, caller=api_caller)
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and "campaign" in body["error_message"]
    assert body["details"] == [{"field": "campaign", "message": "is required"},
                               {"field": "region", "message": "is required"}]
    assert not QrCode.objects.exists() and not Process.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("target", [
    "javascript:alert(1)", "/relative", "ftp://example.com/x", "https://", "not a url",
    "https://exa mple.com/", "https://example.com/\r\nSet-Cookie: x=1", "https://u:p@example.com/",
    "https://example.com/" + "a" * 2100, 42, None, "",
])
def test_invalid_target_url(api, api_caller, qr_event, target):
    response = api.post(URL, {"campaign": "x", "target_url": target}, caller=api_caller)
    assert response.status_code == 422, (target, response.content)
    assert response.json()["details"][0]["field"] == "target_url"
    assert not QrCode.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", [
    "2020-01-01T00:00:00Z", "2099-01-01T00:00:00", "tomorrow", "2099-13-01T00:00:00Z", 12345,
    {"at": "2099-01-01"},
])
def test_invalid_valid_until(api, api_caller, qr_event, value):
    response = api.post(URL, {"campaign": "x", "valid_until": value}, caller=api_caller)
    assert response.status_code == 422, (value, response.content)
    assert response.json()["details"][0]["field"] == "valid_until"


@pytest.mark.django_db
def test_unknown_event_404_and_other_kind_422(api, api_caller, tenant):
    brand = make_brand(tenant)
    Event.objects.create(tenant=tenant, slug="welcome", kind="mailer", brand=brand)
    assert api.post("/api/v1/acme/qr_codes/nope", {}, caller=api_caller).status_code == 404
    wrong = api.post("/api/v1/acme/qr_codes/welcome", {}, caller=api_caller)
    assert wrong.status_code == 422
    assert wrong.json()["details"][0]["field"] == "event_slug"


@pytest.mark.django_db
@pytest.mark.parametrize("raw,status", [(b"[1, 2]", 422), (b'"text"', 422), (b"{bad", 400)])
def test_body_must_be_an_object(api, api_caller, qr_event, raw, status):
    response = api.post(URL, raw=raw, caller=api_caller)
    assert response.status_code == status
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_auth_required_and_wrong_password(api, qr_event, api_caller):
    from tests.helpers import basic_caller

    none = api.post(URL, {"campaign": "x"})
    assert none.status_code == 401 and none["WWW-Authenticate"]
    wrong = api.post(URL, {"campaign": "x"}, caller=basic_caller("api-client", "wrong"))
    assert wrong.status_code == 401
    assert not QrCode.objects.exists()


@pytest.mark.django_db
def test_admin_token_is_not_an_api_user(api, qr_event, admin):
    assert api.post(URL, {"campaign": "x"}, caller=admin).status_code == 401


@pytest.mark.django_db
def test_tenant_isolation(api, qr_event, other_api_caller, other_tenant):
    # Credentials of another tenant are 401 on this tenant's path ...
    assert api.post(URL, {"campaign": "x"}, caller=other_api_caller).status_code == 401
    # ... and this tenant's event is unknown on the other tenant's own path.
    response = api.post("/api/v1/other/qr_codes/flyer", {"campaign": "x"},
                        caller=other_api_caller)
    assert response.status_code == 404
    assert not QrCode.objects.exists()


@pytest.mark.django_db
def test_in_openapi_with_examples(api):
    spec = api.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/v1/{tenant}/qr_codes/{event_slug}"]["post"]
    assert "campaign" in str(operation["requestBody"])  # the payload example
    schema = spec["components"]["schemas"]["QrCodeCreated"]
    assert schema["example"]["png_url"].endswith(".png")
    assert set(schema["properties"]) == {"uuid", "valid_until", "url", "png_url", "svg_url"}
    assert "/api/v1/{tenant}/admin/qr_codes" in spec["paths"]
    assert "/api/v1/{tenant}/admin/qr_codes/{code_uuid}" in spec["paths"]
