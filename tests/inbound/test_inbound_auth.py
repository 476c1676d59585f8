"""Provider callback URLs: the brand's inbound token authenticates, nothing else does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from doxie.brands import services
from doxie.inbound import views

PROVIDERS = ["mailjet", "ses", "seven"]


@pytest.fixture
def brand(tenant):
    return services.create_brand(tenant=tenant, attributes={"name": "Acme", "slug": "acme"})


@pytest.fixture
def handled(monkeypatch) -> list[tuple[str, Any, Any]]:
    """Replace the ``handle_*`` boundary: these tests are about authentication and parsing,
    not about what the handlers do with the events."""
    calls: list[tuple[str, Any, Any]] = []
    for provider in PROVIDERS:
        def record(brand: Any, payload: Any, provider: str = provider) -> None:
            calls.append((provider, brand, payload))

        record.__name__ = f"handle_{provider}"
        monkeypatch.setattr(views, f"handle_{provider}", record)
    return calls


@pytest.fixture
def client() -> Client:
    # Real CSRF checks: providers cannot send a CSRF token, so the views must be exempt.
    return Client(enforce_csrf_checks=True)


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_known_token_is_accepted_and_handed_to_the_handler(client, brand, handled, provider):
    payload = [{"event": "sent", "MessageID": 1}] if provider == "mailjet" else {"x": 1}
    response = client.post(
        f"/hooks/{provider}/{brand.inbound_token}", json.dumps(payload),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {"received": True}
    [(called_provider, called_brand, called_payload)] = handled
    assert called_provider == provider
    assert called_brand.id == brand.id and called_payload == payload


@pytest.mark.django_db
def test_sns_text_plain_json_is_parsed(client, brand, handled):
    body = {"Type": "SubscriptionConfirmation", "Token": "abc"}
    response = client.post(f"/hooks/ses/{brand.inbound_token}", json.dumps(body),
                           content_type="text/plain")
    assert response.status_code == 200
    assert handled[0][2] == body


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "token_of",
    [
        lambda b: "not-a-token",
        lambda b: b.inbound_token[:-1],
        lambda b: b.inbound_token + "x",
        lambda b: b.inbound_token.upper(),
        lambda b: "x" * 500,
    ],
)
def test_unknown_tokens_are_404(client, brand, handled, provider, token_of):
    response = client.post(f"/hooks/{provider}/{token_of(brand)}", "{}",
                           content_type="application/json")
    assert response.status_code == 404
    assert response.json()["received"] is False
    assert handled == []


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_only_post_is_allowed(client, brand, handled, provider, method):
    response = getattr(client, method)(f"/hooks/{provider}/{brand.inbound_token}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe", b'{"a": '])
def test_malformed_bodies_are_400(client, brand, handled, provider, body):
    response = client.post(f"/hooks/{provider}/{brand.inbound_token}", body,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"received": False, "error": "Malformed JSON body"}
    assert handled == []


@pytest.mark.django_db
def test_oversized_bodies_are_413(client, brand, handled, monkeypatch):
    monkeypatch.setattr(views, "MAX_BODY", 10)
    response = client.post(f"/hooks/mailjet/{brand.inbound_token}", json.dumps({"a": "b" * 20}),
                           content_type="application/json")
    assert response.status_code == 413


@pytest.mark.django_db
def test_token_of_a_deleted_brand_stops_working(client, brand, tenant, handled):
    token = brand.inbound_token
    assert client.post(f"/hooks/mailjet/{token}", "[]",
                       content_type="application/json").status_code == 200
    services.delete_brand(tenant=tenant, brand_id=brand.id)
    response = client.post(f"/hooks/mailjet/{token}", "[]", content_type="application/json")
    assert response.status_code == 404


@pytest.mark.django_db
def test_tokens_are_unique_and_long(tenant):
    brands = [
        services.create_brand(tenant=tenant, attributes={"name": f"B{i}", "slug": f"b{i}"})
        for i in range(5)
    ]
    tokens = {b.inbound_token for b in brands}
    assert len(tokens) == 5
    assert all(len(t) >= 43 for t in tokens)
