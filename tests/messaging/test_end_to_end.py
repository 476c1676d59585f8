"""Mailer request -> real procrastinate worker -> real peers: aiosmtpd receives the exact
rendered message, the Mailjet / seven.io fakes and moto's SES receive well-formed requests,
and the webhook receiver gets signed ``message_sent`` notifications."""

from __future__ import annotations

import re
from email import message_from_string, policy

import pytest
from standardwebhooks.webhooks import Webhook

from doxie.messaging.models import EmailTemplate, Message, TrackedLink
from doxie.webhooks import services as webhooks
from tests.helpers import ApiClient, make_api_caller, make_tenant, run_jobs
from tests.messaging.conftest import PUBLIC_URL, SENDER, mailer, make_brand, make_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_jobs")]


def setup_tenant():
    tenant = make_tenant("acme")
    return tenant, ApiClient(), make_api_caller(tenant)


def test_smtp_receives_the_exact_rendered_message_and_webhook_verifies(smtp_server, receiver):
    tenant, api, caller = setup_tenant()
    _, secret = webhooks.create_endpoint(
        tenant=tenant, type="Webhook::MessageSentEndpoint", url=receiver.url("/sent"),
        send_original_payload=True)
    brand = make_brand(tenant, smtp=smtp_server)
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(reply_to="service@example.com")
    response = mailer(api, caller)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True, body
    run_jobs()

    message = Message.objects.get()
    assert message.status == "sent"
    [received] = smtp_server.received
    assert received.mail_from == SENDER and received.rcpt_tos == ["max@example.org"]
    mime = received.message
    assert mime["From"] == f"Acme <{SENDER}>"
    assert mime["To"] == "max@example.org"
    assert mime["Subject"] == "Willkommen Max"
    assert mime["Reply-To"] == "service@example.com"
    assert mime["Message-ID"] == f"<{message.public_id}@acme.example.com>"
    text = mime.get_body(("plain",)).get_content()
    html = mime.get_body(("html",)).get_content()
    [link] = TrackedLink.objects.filter(message=message)
    tracked = f"{PUBLIC_URL}/l/{link.token}"
    assert html.strip() == (
        f'<p>Hallo Max, <a href="{tracked}">los geht\'s</a> oder '
        '<a href="mailto:hilfe@acme.test">Hilfe</a>.</p>')
    assert text.strip() == f"Hallo Max, los geht's ({tracked}) oder Hilfe."
    assert link.url == "https://example.com/start?u=Max"

    run_jobs()  # the webhook drainer the send deferred (a worker with wait=False stops early)
    assert receiver.wait_for(1)
    [hit] = receiver.hits("/sent")
    payload = Webhook(secret).verify(hit.body, hit.headers)
    assert hit.header("Doxie-Event") == "message_sent"
    assert payload["process_id"] == body["process_uuid"]
    assert payload["message_id"] == message.id == body["sent_email_templates"][0]["message_id"]
    assert payload["recipient_specific_message_ids"] == [mime["Message-ID"]]
    assert payload["original_payload"]["first_name"] == "Max"


def test_mailjet_and_seven_receive_well_formed_requests(fake_mailjet, fake_seven):
    tenant, api, caller = setup_tenant()
    brand = make_brand(tenant, mailjet=fake_mailjet, seven=fake_seven)
    make_event(tenant, brand, sms=1, rcs=1)
    assert mailer(api, caller).json()["success"] is True
    run_jobs()

    mail, sms, rcs = Message.objects.order_by("id")
    assert {mail.status, sms.status, rcs.status} == {"sent"}
    [sent] = fake_mailjet.sent
    assert sent["From"] == {"Email": SENDER, "Name": "Acme"}
    assert sent["To"] == [{"Email": "max@example.org"}]
    assert sent["Subject"] == "Willkommen Max"
    assert sent["CustomID"] == str(mail.public_id)
    assert re.search(rf"{PUBLIC_URL}/l/[\w-]+", sent["HTMLPart"])
    assert sent["TextPart"].startswith("Hallo Max, los geht's (")
    assert mail.provider == "mailjet" and mail.provider_message_id

    [text] = fake_seven.sms
    assert (text["to"], text["text"], text["foreign_id"]) == (
        "+491771234567", "Hallo Max", str(sms.public_id))
    assert text["from"] == "+4915112345678"
    assert sms.provider == "seven" and sms.provider_message_id == text["id"]
    [card] = fake_seven.rcs
    assert card["foreign_id"] == str(rcs.public_id) and card["text"] == "Hallo Max"


def test_ses_through_moto(aws):
    tenant, api, caller = setup_tenant()
    aws.client("sesv2").create_email_identity(EmailIdentity="acme.example.com")
    brand = make_brand(tenant, ses=aws)
    make_event(tenant, brand)
    mailer(api, caller)
    run_jobs()

    message = Message.objects.get()
    assert message.status == "sent" and message.provider == "ses"
    [sent] = aws.sent_emails()
    mime = message_from_string(sent["raw_data"], policy=policy.default)
    assert mime["Message-ID"] == f"<{message.public_id}@acme.example.com>"
    assert mime["Subject"] == "Willkommen Max"
    assert message.provider_message_id == sent["id"]


def test_cancel_before_the_worker_runs_sends_nothing(smtp_server, receiver):
    tenant, api, caller = setup_tenant()
    _, secret = webhooks.create_endpoint(
        tenant=tenant, type="Webhook::ProcessCancellationEndpoint", url=receiver.url("/cancel"),
        send_original_payload=True)
    brand = make_brand(tenant, smtp=smtp_server)
    make_event(tenant, brand, sms=1)
    process_uuid = mailer(api, caller).json()["process_uuid"]

    response = api.post(f"/api/v1/acme/processes/{process_uuid}/cancel", caller=caller)
    assert response.status_code == 200
    assert response.json() == {
        "success": True, "error_message": None, "process_uuid": process_uuid,
        "data": {"process_uuid": process_uuid, "status": "cancelled", "cancelled_messages": 2},
    }
    again = api.post(f"/api/v1/acme/processes/{process_uuid}/cancel", caller=caller)
    assert again.status_code == 409
    run_jobs()

    assert smtp_server.received == []
    assert set(Message.objects.values_list("status", flat=True)) == {"cancelled"}
    assert receiver.wait_for(1)
    [hit] = receiver.hits("/cancel")
    payload = Webhook(secret).verify(hit.body, hit.headers)
    assert payload["process_uuid"] == process_uuid
    assert payload["cancellation_timestamp"].endswith("Z")
    assert payload["original_payload"]["email"] == "max@example.org"
