"""A16 against aiosmtpd with STARTTLS and AUTH required."""

from __future__ import annotations

import pytest

from tests.brands.conftest import SMTP_PASSWORD, SMTP_USER
from tests.brands.payloads import BASE, make_bare_brand, make_brand
from tests.fakes.smtp_server import free_port

SETTINGS_KEYS = {
    "address", "port", "enable_ssl", "authentication", "enable_starttls_auto", "open_timeout",
    "read_timeout", "user_name", "password", "domain", "openssl_verify_mode", "envelope_from",
    "ssl",
}


def _smtp_brand(tenant, server, **smtp):
    config = {
        "address": server.host,
        "port": server.port,
        "user_name": SMTP_USER,
        "password": SMTP_PASSWORD,
        "authentication": "plain",
        "enable_starttls_auto": True,
        "enable_ssl": False,
        "openssl_verify_mode": "none",  # the fake's certificate is self-signed
        "domain": "client.doxie.test",
        "envelope_from": "bounces@example.com",
        **smtp,
    }
    return make_brand(tenant, mail_provider="smtp", smtp_config_attributes=config)


@pytest.mark.django_db
def test_successful_connection(api, admin, tenant, smtp_server):
    brand = _smtp_brand(tenant, smtp_server)
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Erfolgreich bearbeitet"
    assert body["error"] is None
    data = body["data"]
    assert set(data) == {"brand_id", "connection_success", "settings"}
    assert data["brand_id"] == brand.id and data["connection_success"] is True
    assert set(data["settings"]) == SETTINGS_KEYS
    assert data["settings"] == {
        "address": "127.0.0.1",
        "port": smtp_server.port,
        "enable_ssl": False,
        "authentication": "plain",
        "enable_starttls_auto": True,
        "open_timeout": 5,
        "read_timeout": 15,
        "user_name": SMTP_USER,
        "password": "[REDACTED]",
        "domain": "client.doxie.test",
        "openssl_verify_mode": "none",
        "envelope_from": "bounces@example.com",
        "ssl": False,
    }
    assert SMTP_PASSWORD not in response.content.decode()
    assert smtp_server.auth_failures == 0
    assert smtp_server.received == []  # a connection test sends nothing


@pytest.mark.django_db
def test_wrong_password_is_a_negative_result(api, admin, tenant, smtp_server):
    brand = _smtp_brand(tenant, smtp_server, password="not-the-password")
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["data"]["connection_success"] is False
    assert body["error"].startswith("SMTP connection failed: authentication failed: 535")
    assert "not-the-password" not in response.content.decode()
    assert smtp_server.auth_failures == 1


@pytest.mark.django_db
def test_refused_port_is_a_negative_result(api, admin, tenant, smtp_server):
    brand = _smtp_brand(tenant, smtp_server, port=free_port())
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["data"]["connection_success"] is False
    assert body["error"] == "SMTP connection failed: connection refused"


@pytest.mark.django_db
def test_certificate_verification_failure_is_reported(api, admin, tenant, smtp_server):
    brand = _smtp_brand(tenant, smtp_server, openssl_verify_mode="peer")
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    body = response.json()
    assert response.status_code == 200 and body["data"]["connection_success"] is False
    assert "TLS handshake failed" in body["error"]
    assert body["data"]["settings"]["openssl_verify_mode"] == "peer"


@pytest.mark.django_db
def test_missing_smtp_config_is_422(api, admin, tenant):
    brand = make_bare_brand(tenant)
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "smtp_config.address"


@pytest.mark.django_db
def test_private_addresses_refused_when_the_deployment_forbids_them(
    api, admin, tenant, smtp_server, settings
):
    brand = _smtp_brand(tenant, smtp_server)  # saved while private hosts were allowed
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    assert response.status_code == 422
    assert "loopback" in response.json()["error"]
    assert smtp_server.auth_failures == 0
