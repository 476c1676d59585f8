"""No personal data or secret in any log line, with logging at DEBUG.

The main flows run against real peers: a P1 whose DOI email aiosmtpd receives and whose link
is confirmed in the live server, a Mailer request (email and SMS) delivered by the real
worker, and the webhooks both deliver to a real receiver. Every line logged meanwhile is
scanned twice: as the call sites wrote it (unredacted, so a call site that logs a recipient
fails here even though production would mask it) and as the JSON formatter writes it
(redacted, including the test server's access log).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from doxie.consents.models import Consent, ConsentStatus
from doxie.core import logs
from doxie.messaging.models import Message
from doxie.webhooks.models import WebhookInteraction
from doxie.webhooks.services import create_endpoint
from tests.consents.support import initiate, link_in
from tests.helpers import PASSWORD, run_jobs
from tests.messaging.conftest import mailer, make_event

EMAIL = "erika.mustermann@example.com"
MAILER_EMAIL = "max.mailer@example.org"
PHONE = "+491771234567"


@pytest.fixture
def raw_and_json(caplog) -> Iterator[io.StringIO]:
    """caplog captures the lines as the call sites wrote them; a handler with the production
    JSON formatter (which redacts) writes what production would print."""
    # (set_level also sets caplog's handler level: the peer first, DEBUG last)
    caplog.set_level(logging.WARNING, logger="mail.log")  # aiosmtpd: the peer, not us
    for name in ("procrastinate", "doxie", "django", "httpx", "httpcore", "aiosmtplib"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.django_db(transaction=True)
def test_main_flows_log_no_personal_data_or_secret(
    api, api_caller, admin, tenant, brand, purpose, live, smtp_server, receiver, fake_seven,
    raw_and_json, caplog,
):
    _, sent_secret = create_endpoint(
        tenant=tenant, type="Webhook::MessageSentEndpoint", url=receiver.url("/sent"),
        send_original_payload=True)
    _, doi_secret = create_endpoint(
        tenant=tenant, type="Webhook::DoiConfirmationEndpoint", url=receiver.url("/doi"),
        send_original_payload=True)
    brand.sms77_api_key = fake_seven.api_key
    brand.sender_phone_number = "+4915112345678"
    brand.save()

    # P1 -> DOI email through aiosmtpd -> confirm in the live server -> webhooks.
    response = initiate(api, api_caller, email=EMAIL)
    assert response.status_code == 200, response.content
    run_jobs()
    run_jobs()
    [received] = smtp_server.received
    url = link_in(received.message.get_body(preferencelist=("plain",)).get_content())
    token = url.rsplit("/", 1)[1]
    with httpx.Client() as browser:
        page = browser.get(url)
        done = browser.post(url, data={"csrfmiddlewaretoken": _csrf(page.text)})
    assert done.status_code in (200, 302), done.text
    assert Consent.objects.get().status == ConsentStatus.CONFIRMED

    # Mailer: one email (aiosmtpd) and one SMS (seven.io fake), then their webhooks.
    event = make_event(tenant, brand, slug="welcome", sms=1,
                       parameters=[{"name": "email"}, {"name": "phone"},
                                   {"name": "first_name"}])
    answer = mailer(api, api_caller, event_slug=event.slug,
                    body={"email": MAILER_EMAIL, "phone": PHONE, "first_name": "Max"})
    assert answer.status_code == 200, answer.content
    run_jobs()
    run_jobs()
    assert Message.objects.filter(status="sent").count() == 3, list(
        Message.objects.values_list("channel", "status", "status_reason"))
    assert len(smtp_server.received) == 2
    assert receiver.wait_for(4)
    assert WebhookInteraction.objects.filter(status="succeeded").count() >= 4, list(
        WebhookInteraction.objects.values_list("status", "error"))

    secrets = {
        "recipient address": EMAIL, "mailer address": MAILER_EMAIL, "phone": PHONE,
        "phone digits": PHONE[1:], "DOI token": token, "API password": PASSWORD,
        "admin token": admin.headers["Authorization"].split()[1],
        "webhook secret": sent_secret, "webhook secret 2": doi_secret,
        "seven key": fake_seven.api_key,
    }
    # The person's browser (httpx in this test) and the test server's access log visit the
    # link by design; they are checked in the redacted output only.
    raw = [line for line in caplog.text.splitlines()
           if "django.server" not in line and live.url.split("//")[1] not in line]
    produced = raw_and_json.getvalue().splitlines()
    assert len(raw) > 20 and len(produced) > 20  # DEBUG really was on
    for where, lines in (("call sites", raw), ("JSON output", produced)):
        leaks = [(name, line) for line in lines for name, s in secrets.items()
                 if s and s in line]
        assert not leaks, f"{where}: {leaks[:5]}"
