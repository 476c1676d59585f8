"""Each class of hostile input from issue 10 §5, through the real request stack: refused at
the door (``core.middleware`` + ``core.request_decoding`` + ``core.converters``) with the
route's envelope, never a 500."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from doxie.core import request_decoding as decoding
from tests.inbound.support import make_brand

ADMIN_API = "/api/v1/acme/admin/api_users"
PUBLIC_API = "/api/v1/acme/whoami"
ADMIN_KEYS = {"success", "message", "error", "data"}
PUBLIC_KEYS = {"success", "error_message", "process_uuid", "data"}


# -- the decoder on its own ---------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"NaN", b'{"a": NaN}', b'{"a": Infinity}', b'[-Infinity]', b'{"a": 1e999}',
    b'{"a": -1e999}', b'{"a": 99999999999999999999}', b"[" * 100_000, b"[" * 65 + b"]" * 65,
    b'{"a": "\xed\xa0\x80"}', b'{"a": "x"', b"\xff",
])
def test_decoder_refuses_with_400(raw):
    with pytest.raises(decoding.MalformedInput) as caught:
        decoding.decode_json(raw)
    assert caught.value.status == 400
    assert caught.value.message.startswith("Malformed JSON body")


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"name": "a\\u0000b"}', "name"),
    (b'{"a": {"b": ["ok", "\\ud800"]}}', "a.b.1"),
    (b'{"\\u0000": 1}', "\\x00"),
    (b'["\\udfff"]', "0"),
])
def test_decoder_refuses_unstorable_text_with_422_naming_the_field(raw, field):
    with pytest.raises(decoding.MalformedInput) as caught:
        decoding.decode_json(raw)
    assert caught.value.status == 422
    assert caught.value.details[0]["field"] == field


def test_decoder_keeps_what_is_valid():
    body = b'{"a": [1, -2.5, "\\ud83d\\ude00", "[[[{{{", null, true], "b": 9223372036854775807}'
    assert decoding.decode_json(body) == {
        "a": [1, -2.5, "\N{GRINNING FACE}", "[[[{{{", None, True], "b": 2**63 - 1}
    assert decoding.decode_json(b"[" * 64 + b"]" * 64) is not None


def test_depth_scan_is_linear_and_never_recursive():
    # A million brackets: one pass, no RecursionError, no stack overflow.
    assert decoding.json_depth(b"[" * 1_000_000) > decoding.MAX_DEPTH
    assert decoding.json_depth(b'["' + b"[" * 1000 + b'"]') == 1


# -- JSON bodies through the API ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [
    b'{"api_user": {"username": NaN}}', b'{"api_user": {"username": 1e999}}',
    b'{"api_user": ' * 5000 + b"1" + b"}" * 5000, b"[" * 100_000,
    b'{"api_user": {"username": 123456789012345678901234567890}}',
])
def test_api_refuses_unparseable_json_with_400_admin_envelope(api, admin, raw):
    response = api.post(ADMIN_API, raw=raw, caller=admin)
    assert response.status_code == 400
    assert set(response.json()) == ADMIN_KEYS
    assert response.json()["error"].startswith("Malformed JSON body")


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [
    b'{"api_user": {"username": "nul\\u0000", "password": "x"}}',
    b'{"api_user": {"username": "\\ud800", "password": "x"}}',
    b'{"api_user": {"\\u0000": "x"}}',
])
def test_api_refuses_nul_and_surrogates_with_422_details(api, admin, raw):
    response = api.post(ADMIN_API, raw=raw, caller=admin)
    assert response.status_code == 422
    body = response.json()
    assert set(body) == ADMIN_KEYS | {"details"}
    assert body["details"][0]["field"].startswith("api_user.")


@pytest.mark.django_db
def test_public_api_gets_the_public_envelope(api, api_caller, tenant):
    response = api.post("/api/v1/acme/mpm/consents/initiate",
                        raw=b'{"customer_id": "a\\u0000"}', caller=api_caller)
    assert response.status_code == 422
    assert set(response.json()) == PUBLIC_KEYS | {"details"}
    assert response.json()["details"] == [
        {"field": "customer_id", "message": "must not contain NUL characters"}]


# -- paths: one converter set -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("segment", ["%C2%B9", "%E2%91%A0", "%D9%A1%D9%A2", "1_2", " 12",
                                     "9" * 19, "%00", "%ED%A0%80", "-1"])
def test_ids_are_ascii_digits_only(api, admin, tenant, segment):
    brand = make_brand(tenant)
    brands = "/api/v1/acme/admin/brands"
    assert api.get(f"{brands}/{brand.pk}", caller=admin).status_code == 200
    response = api.get(f"{brands}/{segment}", caller=admin)
    assert response.status_code == 404
    assert set(response.json()) == ADMIN_KEYS


@pytest.mark.django_db
def test_webhook_endpoint_ids_never_resolve_unicode_digits(api, admin, tenant):
    from doxie.webhooks import services

    endpoint, _ = services.create_endpoint(tenant=tenant, type="Webhook::MessageSentEndpoint",
                                           url="https://hooks.example.com/x")
    arabic = "".join(chr(0x0660 + int(d)) for d in str(endpoint.id))
    base = "/api/v1/acme/admin/webhook_endpoints"
    assert api.get(f"{base}/{endpoint.id}", caller=admin).status_code == 200
    for segment in (arabic, "\u2460", "\u00b9"):
        response = api.get(f"{base}/{segment}", caller=admin)
        assert response.status_code == 404, segment


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "/api/v1/ac%00me/whoami", "/api/v1/%ED%A0%80/whoami", "/api/v1/" + "a" * 101 + "/whoami",
    "/api/v1/acme/mailer/ev%00ent", "/api/v1/acme/processes/not-a-uuid/cancel",
    "/api/v1/acme/admin/contacts/c%00x/consents",
])
def test_bad_path_segments_are_404_with_envelope(api, api_caller, admin, path):
    caller = admin if "/admin/" in path else api_caller
    response = api.request("post" if "mailer" in path or "cancel" in path else "get", path,
                           body={}, caller=caller)
    assert response.status_code == 404
    assert response.json()["success"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/doi/ab%00c", "/d/%ED%A0%80", "/l/%E2%91%A0",
                                  "/doi/" + "a" * 600])
def test_public_pages_refuse_malformed_tokens_with_404(path):
    assert Client().get(path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("segment", ["ab%00c", "%ED%A0%80", "%E2%91%A0"])
def test_provider_hook_tokens_are_ascii(tenant, segment):
    response = Client().post(f"/hooks/mailjet/{segment}", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"received": False, "error": "Not found"}


# -- query strings, headers, forms ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=%00", "page=1%00", "x%00=1", "limit=%ED%A0%80",
                                   "limit=%FF"])
def test_api_query_strings_with_nul_or_invalid_utf8_are_400(api, admin, query):
    response = api.get(f"{ADMIN_API}?{query}", caller=admin)
    assert response.status_code == 400
    assert set(response.json()) == ADMIN_KEYS


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=%D9%A1", "limit=%E2%91%A0", "page=99999999999999999999"])
def test_api_unicode_digit_queries_are_client_errors(api, admin, query):
    assert api.get(f"{ADMIN_API}?{query}", caller=admin).status_code in (200, 422)


@pytest.fixture
def superuser_client(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", [
    "/admin/tenants/tenant/?q=%00", "/admin/tenants/apiuser/?tenant__id__exact=%00",
    "/admin/brands/brand/?q=a%00b", "/admin/webhooks/webhookinteraction/?q=%ED%A0%80",
])
def test_admin_changelists_refuse_nul_in_the_query(superuser_client, url):
    assert superuser_client.get(url).status_code == 400


@pytest.mark.django_db
def test_admin_object_ids_are_ascii_digits(superuser_client, tenant):
    assert superuser_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").status_code == 200
    arabic = "".join(chr(0x0660 + int(d)) for d in str(tenant.pk))
    for segment in (arabic, f"{tenant.pk}_", "\u2460"):
        response = superuser_client.get(f"/admin/tenants/tenant/{segment}/change/")
        assert response.status_code == 404, segment


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["grant_type=client_credentials&client_id=a%00b",
                                  "grant_type=client_credentials&client_id=%ED%A0%80",
                                  "client_id=\udcff"])
def test_oauth_form_fields_with_nul_or_surrogates_are_400(body):
    response = Client().post("/oauth/token/", body.encode("utf-8", "surrogateescape"),
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.django_db
def test_header_values_with_nul_are_400(api, api_caller):
    response = api.get(PUBLIC_API, caller=api_caller, headers={"User-Agent": "x\x00y"})
    assert response.status_code == 400
    assert set(response.json()) == PUBLIC_KEYS


@pytest.mark.django_db
def test_provider_hooks_refuse_nan_and_nul_as_malformed(tenant):
    brand = make_brand(tenant)
    for raw in (b'{"a": NaN}', b'[{"event": "\\u0000"}]', b"[" * 100_000):
        response = Client().post(f"/hooks/mailjet/{brand.inbound_token}", raw,
                                 content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"received": False, "error": "Malformed JSON body"}


# -- body size, with and without Content-Length --------------------------------------------


def _asgi_post(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """One request straight through the ASGI application, body sent in chunks without a
    Content-Length (what ``Transfer-Encoding: chunked`` becomes under uvicorn)."""
    from doxie.asgi import application

    sent: list[dict] = []
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5555),
        "server": ("testserver", 80),
    }
    asyncio.run(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.lower(): v for k, v in start["headers"]}, body


@pytest.mark.parametrize(("size", "path"), [
    (2 * 1024 * 1024, "/api/v1/acme/admin/api_users"),  # over the JSON limit
    (12 * 1024 * 1024, "/api/v1/acme/admin/api_users"),  # over Django's own limit
    (12 * 1024 * 1024, "/hooks/mailjet/some-token"),
])
def test_chunked_bodies_over_the_limit_are_json_413(size, path):
    chunk = b"x" * (1024 * 1024)
    status, headers, body = _asgi_post(
        path, [chunk] * (size // len(chunk)), [(b"content-type", b"application/json")])
    assert status == 413
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body)["success" if path.startswith("/api/") else "received"] is False


@pytest.mark.django_db
def test_declared_oversize_outside_the_api_is_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post("/oauth/token/", "a=" + "x" * 2000,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


@pytest.mark.django_db
def test_valid_requests_still_pass(api, admin, api_caller, tenant):
    assert api.get(f"{ADMIN_API}?limit=5&page=1", caller=admin).status_code == 200
    assert api.get(PUBLIC_API, caller=api_caller, headers={"User-Agent": "ok ü"}).status_code == 200
