"""The mail worker applies the SSRF policy at connect time: a brand whose SMTP host is
forbidden (saved before the policy applied, or whose DNS changed since) delivers nothing."""

from __future__ import annotations

import pytest

from doxie.brands.models import SmtpConfig
from doxie.messaging.models import Message
from tests.messaging.conftest import drain, mailer, make_brand, make_event


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::ffff:127.0.0.1]"])
def test_worker_refuses_a_forbidden_smtp_host_without_connecting(
    api, api_caller, tenant, smtp_server, settings, host
):
    brand = make_brand(tenant, smtp=smtp_server)
    SmtpConfig.objects.filter(brand=brand).update(address=host)
    make_event(tenant, brand)
    assert mailer(api, api_caller).status_code == 200
    settings.DOXIE_ALLOW_PRIVATE_URLS = False  # production's default
    drain(brand)
    message = Message.objects.get()
    assert message.status == "failed", message.status_reason
    assert f"SMTP host {host} may not be contacted" in message.status_reason
    assert "loopback" in message.status_reason
    assert smtp_server._sessions == [] and smtp_server.received == []


@pytest.mark.django_db
def test_worker_delivers_to_the_same_sink_when_private_hosts_are_allowed(
    api, api_caller, tenant, smtp_server
):
    brand = make_brand(tenant, smtp=smtp_server)
    SmtpConfig.objects.filter(brand=brand).update(address="localhost")
    make_event(tenant, brand)
    assert mailer(api, api_caller).status_code == 200
    drain(brand)
    assert Message.objects.get().status == "sent"
    assert len(smtp_server.received) == 1
