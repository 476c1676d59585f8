"""End to end with real peers: P1 → worker → aiosmtpd / seven.io fake receives the DOI
message → headless Chromium opens the link on a live server and presses the button →
consent confirmed with proof → the doi_confirmation webhook reaches a real receiver and
verifies with ``standardwebhooks``. Also: link scanners, reused and expired links, and the
Mailer's consent gate after a revocation."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from doxie.consents import ledger
from doxie.consents.models import Consent, ConsentLedgerEntry, ConsentStatus
from doxie.messaging.models import EmailTemplate, Message
from doxie.processes.models import Event
from doxie.webhooks.services import create_endpoint
from tests.consents.browser import visit
from tests.consents.support import initiate, link_in, revoke
from tests.fakes.smtp_server import FakeSmtpServer
from tests.helpers import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def _doi_link(smtp_server: FakeSmtpServer, index: int = -1) -> str:
    message = smtp_server.received[index].message
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    url = link_in(text)
    assert url in html  # no click tracking on the confirmation link
    return url


def test_email_doi_confirmed_by_a_person_in_chromium(
    api, api_caller, tenant, purpose, live, smtp_server, receiver
):
    _, secret = create_endpoint(tenant=tenant, type="Webhook::DoiConfirmationEndpoint",
                                url=receiver.url("/doi"), send_original_payload=True)
    response = initiate(api, api_caller, email="max@example.com")
    assert response.status_code == 200, response.content
    process_uuid = response.json()["process_uuid"]

    run_jobs()

    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert received.rcpt_tos == ["max@example.com"]
    assert received.message["Subject"] == "Bitte bestätigen Sie Ihre Einwilligung (Marketing)"
    url = _doi_link(smtp_server)
    assert url.startswith(f"{live.url}/doi/")
    assert Message.objects.get().status == "sent"

    # A link scanner's plain GET (and HEAD) shows the page but confirms nothing.
    scanner = httpx.get(url, headers={"User-Agent": "SafeLinks-Scanner/1.0"})
    assert scanner.status_code == 200 and "Jetzt bestätigen" in scanner.text
    assert httpx.head(url).status_code == 200
    assert Consent.objects.get().status == ConsentStatus.PENDING

    result = visit(url)

    assert result.first_status == 200 and "Einwilligung bestätigen" in result.first_text
    assert result.clicked and result.final_status == 200
    assert "Vielen Dank" in result.final_text
    consent = Consent.objects.get()
    assert consent.status == ConsentStatus.CONFIRMED
    assert consent.confirmed_ip == "127.0.0.1"
    assert consent.confirmed_user_agent == result.user_agent
    entry = ConsentLedgerEntry.objects.get(kind="confirmed")
    assert entry.ip == "127.0.0.1" and entry.user_agent == result.user_agent
    assert "Chrome" in entry.user_agent and "Jetzt bestätigen" in entry.shown_text
    assert ledger.verify(tenant.id).ok

    run_jobs()

    assert receiver.wait_for(1)
    hit = receiver.hits("/doi")[0]
    assert hit.header("Doxie-Event") == "doi_confirmation"
    payload = Webhook(secret).verify(hit.body, hit.headers)
    assert payload["identifier"] == process_uuid
    assert payload["ipAddress"] == "127.0.0.1"
    assert payload["timestamp"].endswith("Z")
    assert payload["original_payload"]["consent_slug"] == "marketing"

    # The link used again: a clear page, nothing confirmed twice, no second webhook.
    again = visit(url)
    assert again.first_status == 200 and "Bereits bestätigt" in again.first_text
    assert not again.clicked
    assert ConsentLedgerEntry.objects.filter(kind="confirmed").count() == 1


def test_redirect_to_the_success_url_after_confirming(
    api, api_caller, tenant, purpose, live, smtp_server
):
    purpose.success_redirect_url = f"{live.url}/healthz"
    purpose.save()
    initiate(api, api_caller, email="max@example.com")
    run_jobs()

    result = visit(_doi_link(smtp_server))

    assert result.clicked and result.final_url == f"{live.url}/healthz"
    assert Consent.objects.get().status == ConsentStatus.CONFIRMED


def test_expired_link_shows_the_expired_page(api, api_caller, purpose, live, smtp_server):
    initiate(api, api_caller, email="max@example.com")
    run_jobs()
    Consent.objects.update(expires_at="2000-01-01T00:00:00Z")

    result = visit(_doi_link(smtp_server))

    assert result.first_status == 410 and "Link abgelaufen" in result.first_text
    assert not result.clicked
    assert Consent.objects.get().status != ConsentStatus.CONFIRMED


def test_sms_doi_through_the_seven_fake(
    api, api_caller, tenant, purpose, brand, live, fake_seven
):
    brand.sms77_api_key = fake_seven.api_key
    brand.sender_phone_number = "+4915112345678"
    brand.save()

    response = initiate(api, api_caller, phone="+491771234567")
    assert response.status_code == 200
    run_jobs()

    [sms] = fake_seven.sms
    assert sms["recipient"] == "491771234567"
    url = link_in(sms["text"])
    assert url.startswith(f"{live.url}/d/")
    assert Message.objects.get().status == "sent"

    result = visit(url)

    assert result.clicked and "Vielen Dank" in result.final_text
    consent = Consent.objects.get()
    assert consent.status == ConsentStatus.CONFIRMED and consent.channel == "sms"


def test_revoked_consent_stops_the_mailer(
    api, api_caller, tenant, purpose, brand, live, smtp_server
):
    event = Event.objects.create(tenant=tenant, brand=brand, slug="angebot",
                                 parameters=[{"name": "email", "required": True}],
                                 required_consent_slug="marketing")
    EmailTemplate.objects.create(tenant=tenant, event=event, name="Angebot",
                                 sender="noreply@acme.example", to="{{ email }}",
                                 subject="Unser Angebot", html="<p>Angebot</p>")
    mailer = f"/api/v1/{tenant.slug}/mailer/angebot"

    blocked = api.post(mailer, {"email": "max@example.com"}, caller=api_caller).json()
    assert blocked["sent_email_templates"][0]["success"] is False  # no consent yet

    initiate(api, api_caller, email="max@example.com")
    run_jobs()
    visit(_doi_link(smtp_server))
    allowed = api.post(mailer, {"email": "Max@Example.com"}, caller=api_caller).json()
    assert allowed["sent_email_templates"][0]["success"] is True
    run_jobs()
    assert [r.message["Subject"] for r in smtp_server.received][-1] == "Unser Angebot"

    assert revoke(api, api_caller, customer_id="c-1", revoke_all=True).status_code == 200
    after = api.post(mailer, {"email": "max@example.com"}, caller=api_caller).json()
    result = after["sent_email_templates"][0]
    assert result["success"] is False and "consent" in result["error_message"]
    sent_before = len(smtp_server.received)
    run_jobs()
    assert len(smtp_server.received) == sent_before
