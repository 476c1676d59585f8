"""A consent cannot be forged from stored data: after a P1 the confirmation token is in no
column of any table, in no API answer (A25 to a read-only token), no webhook payload and no
log line; only the email aiosmtpd receives carries the link, and that link confirms. A retry
after a temporary SMTP failure still carries a working link."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from django.db import connection
from django.test import Client

from doxie.brands.models import SmtpConfig
from doxie.consents.models import Consent, ConsentStatus
from doxie.messaging.models import Message
from doxie.webhooks.models import WebhookInteraction
from doxie.webhooks.services import create_endpoint
from tests.consents.support import initiate, link_in, path_of, provider_copy, start
from tests.helpers import run_jobs
from tests.messaging.conftest import drain

_TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


def tables_holding(needle: str) -> list[str]:
    """Every ``table.column`` (text or JSON, any table of the test database) containing
    ``needle``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s)",
            [list(_TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE strpos("{column}"::text, %s) > 0 LIMIT 1',  # noqa: S608
                [needle],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.django_db(transaction=True)
def test_the_token_lives_only_in_the_delivered_email(
    api, api_caller, reader, tenant, purpose, live, smtp_server, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    sent_endpoint, _ = create_endpoint(
        tenant=tenant, type="Webhook::MessageSentEndpoint", url=receiver.url("/sent"),
        send_original_payload=True,
    )
    create_endpoint(tenant=tenant, type="Webhook::DoiConfirmationEndpoint",
                    url=receiver.url("/doi"), send_original_payload=True)

    response = initiate(api, api_caller, email="max@example.com")
    assert response.status_code == 200, response.content
    run_jobs()  # the DOI email
    run_jobs()  # the message_sent webhook its delivery deferred
    assert receiver.wait_for(1)

    # The email that reached the SMTP server carries the working link, in both parts.
    [received] = smtp_server.received
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    html = received.message.get_body(preferencelist=("html",)).get_content()
    url = link_in(text)
    assert url.startswith(f"{live.url}/doi/") and url in html
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 43
    assert "{{ confirmation_url }}" not in text + html

    # Nothing stored anywhere holds it: bodies, webhook interactions, jobs, ledger, …
    message = Message.objects.get()
    assert message.status == "sent"
    assert "{{ confirmation_url }}" in message.text and "{{ confirmation_url }}" in message.html
    assert tables_holding(token) == []
    assert tables_holding("{{ confirmation_url }}")  # the scan does find what is there

    # message_sent: the receiver got the redacted body, and so did the stored interaction.
    [sent_hit] = receiver.hits("/sent")
    assert token not in sent_hit.body.decode()
    assert "{{ confirmation_url }}" in sent_hit.json()["text"]
    interaction = WebhookInteraction.objects.get(endpoint_id=sent_endpoint.id)
    assert token not in json.dumps([interaction.sent_payload, interaction.transaction_payload])

    # A25 to a read-only token: interactions with their payloads, and no token.
    shown = api.get(f"/api/v1/acme/admin/webhook_endpoints/{sent_endpoint.id}", caller=reader)
    assert shown.status_code == 200, shown.content
    assert "{{ confirmation_url }}" in shown.content.decode()
    assert token not in shown.content.decode()

    # The admin page of the message shows the redacted body only.
    from django.contrib.auth import get_user_model

    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))
    page = staff.get(f"/admin/messaging/message/{message.id}/change/")
    assert page.status_code == 200
    assert token not in page.content.decode()

    # The link from the email confirms the consent (the page's real form, CSRF and all).
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200
        done = browser.post(url, data={"csrfmiddlewaretoken": _csrf(page.text)})
    assert done.status_code in (200, 302), done.text
    assert Consent.objects.get().status == ConsentStatus.CONFIRMED
    run_jobs()
    assert receiver.wait_for(2)
    assert all(token not in hit.body.decode() for hit in receiver.hits())
    assert tables_holding(token) == []

    # Our log lines (the fake SMTP peer's own debug log of the DATA it received is the
    # recipient's side, not ours).
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not [line for line in ours if token in line]


@pytest.mark.django_db
def test_a_retry_still_carries_a_working_link(tenant, brand, purpose, smtp_server):
    brand.mail_provider = "smtp"
    brand.save()
    SmtpConfig.objects.create(tenant=tenant, brand=brand, address=smtp_server.host,
                              port=smtp_server.port, enable_starttls_auto=False)
    consent, url = start(tenant, email="max@example.com")
    smtp_server.data_reply = "451 4.3.0 try again later"

    assert drain(brand) == 1
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.secret_values  # kept (encrypted) for the retry

    smtp_server.data_reply = None
    Message.objects.update(next_attempt_at=message.created_at)
    assert drain(brand) == 1

    [received] = smtp_server.received
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    assert link_in(text) == url
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.secret_values == ""  # delivered: the secret is not kept any longer

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path_of(url))
    browser.post(path_of(url), {"csrfmiddlewaretoken": _csrf(page.content.decode())})
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.CONFIRMED


@pytest.mark.django_db
def test_secret_values_are_encrypted_at_rest_and_never_shown(tenant, purpose):
    _, url = start(tenant, email="max@example.com")
    message = Message.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_values FROM messaging_message WHERE id = %s", [message.id])
        [stored] = cursor.fetchone()
    assert stored.startswith("fernet:") and url not in stored
    assert provider_copy(message)[0].count(url) == 1

    # While the message waits for delivery (its secret still kept), the admin page of the
    # message does not show it.
    from django.contrib.auth import get_user_model

    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))
    page = staff.get(f"/admin/messaging/message/{message.id}/change/")
    assert page.status_code == 200
    assert "{{ confirmation_url }}" in page.content.decode()
    assert url.rsplit("/", 1)[1] not in page.content.decode()
