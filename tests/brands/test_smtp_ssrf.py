"""The SSRF policy at save time: A2/A4 and the admin form refuse SMTP hosts a production
deployment may not connect to (422 naming the field); A16 refuses them before connecting."""

from __future__ import annotations

import pytest

from doxie.brands.admin import SmtpConfigForm
from doxie.brands.models import Brand, SmtpConfig
from doxie.core.crypto import MASK
from tests.brands.payloads import BASE, make_brand, minimal_body

FIELD = "brand.smtp_config_attributes.address"

FORBIDDEN = [
    ("127.0.0.1", "address 127.0.0.1 is loopback"),
    ("169.254.169.254", "address 169.254.169.254 is link-local (cloud metadata)"),
    ("10.0.0.1", "address 10.0.0.1 is private"),
    ("::1", "address ::1 is loopback"),
    ("[::ffff:127.0.0.1]", "loopback (embedded IPv4 127.0.0.1)"),
    ("2130706433", "address 127.0.0.1 is loopback"),
    ("localhost", "localhost resolves to 127.0.0.1; address 127.0.0.1 is loopback"),
    ("LocalHost", "resolves to 127.0.0.1; address 127.0.0.1 is loopback"),
]


@pytest.fixture
def production_like(settings):
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    return settings


def _smtp(address: str) -> dict:
    return {"smtp_config_attributes": {"address": address, "port": 587}}


def _problem(response, field: str = FIELD) -> str:
    assert response.status_code == 422, response.content
    messages = [d["message"] for d in response.json()["details"] if d["field"] == field]
    assert messages, response.json()
    return messages[0]


@pytest.mark.django_db
@pytest.mark.parametrize(("address", "reason"), FORBIDDEN)
def test_create_refuses_forbidden_smtp_hosts(api, admin, production_like, address, reason):
    response = api.post(BASE, minimal_body(mail_provider="smtp", **_smtp(address)), caller=admin)
    message = _problem(response)
    assert message.startswith("may not be used as an SMTP server: ") and reason in message
    assert Brand.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("address", "reason"), FORBIDDEN[::2])
def test_update_refuses_forbidden_smtp_hosts(api, admin, tenant, production_like, address,
                                             reason):
    brand = make_brand(tenant, mail_provider="smtp")
    stored = brand.smtp_config.address
    response = api.patch(f"{BASE}/{brand.id}", {"brand": _smtp(address)}, caller=admin)
    assert reason in _problem(response)
    assert SmtpConfig.objects.get(brand=brand).address == stored


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111",
                                     "smtp.does-not-resolve.doxie.test"])
def test_public_and_unresolvable_hosts_are_accepted(api, admin, production_like, address):
    """An unresolvable name is accepted (its record may come later): connect time decides."""
    response = api.post(BASE, minimal_body(mail_provider="smtp", **_smtp(address)), caller=admin)
    assert response.status_code == 201, response.content
    assert response.json()["data"]["smtp_config"]["address"] == address


@pytest.mark.django_db
def test_private_hosts_are_accepted_where_the_deployment_allows_them(api, admin, settings):
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    response = api.post(BASE, minimal_body(**_smtp("127.0.0.1")), caller=admin)
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_the_ehlo_domain_is_not_an_outbound_host(api, admin, production_like):
    """Only the server address is connected to; ``domain`` is just a name we announce."""
    body = minimal_body(smtp_config_attributes={"address": "93.184.216.34",
                                                "domain": "localhost"})
    assert api.post(BASE, body, caller=admin).status_code == 201


@pytest.mark.django_db
def test_admin_form_applies_the_same_policy(tenant, production_like):
    brand = make_brand(tenant)
    form = SmtpConfigForm(
        instance=brand.smtp_config,
        data={"brand": brand.id, "address": "169.254.169.254", "port": 25, "password": MASK},
    )
    assert not form.is_valid()
    assert "link-local (cloud metadata)" in form.errors["address"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["localhost", "::1", "10.0.0.1"])
def test_smtp_test_refuses_a_stored_forbidden_host(api, admin, tenant, settings, smtp_server,
                                                   address):
    """A brand saved while private hosts were allowed (or whose DNS changed since)."""
    brand = make_brand(tenant, mail_provider="smtp")
    SmtpConfig.objects.filter(brand=brand).update(address=address, port=smtp_server.port)
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    response = api.post(f"{BASE}/{brand.id}/smtp_test", caller=admin)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["details"][0]["field"] == "smtp_config.address"
    assert "may not be contacted" in body["error"]
    assert smtp_server._sessions == [] and smtp_server.auth_failures == 0
