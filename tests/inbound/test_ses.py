"""SES events through SNS: signed by a local SNS (own key and certificate), posted to the real
hook URL the way SNS posts (``text/plain`` body, ``x-amz-sns-message-type`` header)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from doxie.inbound import sns
from doxie.messaging.models import Message, MessageStatusEvent, Suppression
from doxie.webhooks.models import WebhookInteraction
from tests.fakes.sns import FakeSns, make_certificate
from tests.helpers import ApiClient, run_jobs
from tests.inbound.support import (
    ORIGINAL,
    SEED_STATUS_KEYS,
    history,
    make_brand,
    make_endpoint,
    make_message,
    received,
)

TOPIC = "doxie-acme-ses-brand"
SES_ID = "010701234567890a-12345678-abcd-4321-9876-0123456789ab-000000"


@pytest.fixture
def fake_sns(settings) -> Iterator[FakeSns]:
    with FakeSns() as fake:
        for name, value in fake.settings_overrides().items():
            setattr(settings, name, value)
        sns.clear_certificate_cache()
        yield fake
    sns.clear_certificate_cache()


@pytest.fixture
def ses_brand(tenant):
    return make_brand(tenant, slug="ses-brand", mail_provider="ses", ses_configuration_set=TOPIC)


@pytest.fixture
def message(ses_brand) -> Message:
    return make_message(ses_brand, provider="ses", provider_message_id=SES_ID)


def ses_event(message: Message, event_type: str, **body) -> dict:
    """An SES event-publishing record as SES puts it into the SNS Message."""
    event = {
        "eventType": event_type,
        "mail": {
            "timestamp": "2024-03-01T10:00:00.000Z",
            "source": "noreply@example.com",
            "sourceArn": "arn:aws:ses:eu-central-1:123456789012:identity/example.com",
            "sendingAccountId": "123456789012",
            "messageId": message.provider_message_id,
            "destination": [message.recipient],
            "headersTruncated": False,
            "commonHeaders": {
                "from": ["noreply@example.com"], "to": [message.recipient],
                "messageId": f"<{message.public_id}@example.com>", "subject": "Hello",
            },
            "tags": {
                "ses:configuration-set": [TOPIC],
                "doxie_message_id": [str(message.public_id)],
            },
        },
    }
    key = {"Rendering Failure": "failure"}.get(event_type, event_type[0].lower() + event_type[1:])
    event[key] = body
    return event


def post(brand, envelope: dict | bytes):
    raw = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    kind = envelope.get("Type", "") if isinstance(envelope, dict) else ""
    return ApiClient().post(
        f"/hooks/ses/{brand.inbound_token}", raw=raw, content_type="text/plain; charset=UTF-8",
        headers={"x-amz-sns-message-type": kind},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_signed_delivery_and_open_update_status_and_notify(tenant, receiver, fake_sns):
    brand = make_brand(tenant, slug="ses-brand", mail_provider="ses", ses_configuration_set=TOPIC)
    message = make_message(brand, provider="ses", provider_message_id=SES_ID)
    _, secret = make_endpoint(tenant, receiver)
    delivery = fake_sns.notification(TOPIC, ses_event(
        message, "Delivery", timestamp="2024-03-01T10:00:02.000Z", processingTimeMillis=1500,
        recipients=[message.recipient], smtpResponse="250 2.0.0 OK",
        reportingMTA="a1-23.smtp-out.amazonses.com",
    ), version="1")
    opened = fake_sns.notification(TOPIC, ses_event(
        message, "Open", timestamp="2024-03-01T10:05:00.000Z", ipAddress="192.0.2.1",
        userAgent="Mozilla/5.0",
    ), version="2")

    assert post(brand, delivery).status_code == 200
    assert post(brand, opened).status_code == 200
    assert post(brand, opened).status_code == 200  # SNS retry of the same notification

    message.refresh_from_db()
    assert message.status == "opened"
    assert history(message) == [("delivered", "ses"), ("opened", "ses")]
    run_jobs()
    # The drainer sends a batch concurrently: arrival order is not emission order.
    hooks = sorted(received(receiver, secret, "message_status_update"),
                   key=lambda h: h["timestamp"])
    assert [(h["status"], h["timestamp"]) for h in hooks] == [
        ("delivered", "2024-03-01T10:00:02Z"), ("opened", "2024-03-01T10:05:00Z"),
    ]
    assert set(hooks[0]) == SEED_STATUS_KEYS
    assert hooks[0]["original_payload"] == ORIGINAL
    assert hooks[0]["recipient_specific_message_id"] == SES_ID


@pytest.mark.django_db
def test_subscription_confirmation_gets_the_subscribe_url(ses_brand, fake_sns):
    confirmation = fake_sns.subscription_confirmation(TOPIC, version="2")
    response = post(ses_brand, confirmation)
    assert response.status_code == 200
    (hit,) = fake_sns.confirmed
    assert hit.query["Token"] == confirmation["Token"]
    assert hit.query["TopicArn"] == fake_sns.topic_arn(TOPIC)


@pytest.mark.django_db
def test_confirmation_before_the_set_up_recorded_the_topic(tenant, fake_sns):
    """SNS asks for confirmation while the set-up still runs: the derived name is accepted."""
    brand = make_brand(tenant, slug="fresh")
    confirmation = fake_sns.subscription_confirmation(f"doxie-{tenant.slug}-fresh")
    assert post(brand, confirmation).status_code == 200
    assert len(fake_sns.confirmed) == 1


@pytest.mark.django_db
def test_subscribe_url_outside_sns_is_refused(ses_brand, fake_sns, settings):
    settings.DOXIE_SNS_SUBSCRIBE_URL_PATTERN = None  # back to sns.<region>.amazonaws.com only
    response = post(ses_brand, fake_sns.subscription_confirmation(TOPIC))
    assert response.status_code == 403
    assert fake_sns.confirmed == []


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["message", "signature", "version", "cert_url", "unsigned"])
def test_forged_messages_are_403_and_change_nothing(ses_brand, message, fake_sns, tamper):
    envelope = fake_sns.notification(TOPIC, ses_event(message, "Bounce", bounceType="Permanent"))
    if tamper == "message":
        envelope["Message"] = envelope["Message"].replace("Permanent", "Transient")
    elif tamper == "signature":
        envelope["Signature"] = fake_sns.sign({**envelope, "MessageId": "other"})["Signature"]
    elif tamper == "version":
        envelope["SignatureVersion"] = "2"  # signed as SHA1, claimed SHA256
    elif tamper == "cert_url":
        envelope["SigningCertURL"] = "https://sns.eu-central-1.amazonaws.com.evil.example/x.pem"
    else:
        del envelope["Signature"]
    response = post(ses_brand, envelope)
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"
    assert not MessageStatusEvent.objects.exists()
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_certificate_host_pattern_is_checked_before_fetching(ses_brand, message, fake_sns,
                                                             settings):
    settings.DOXIE_SNS_CERT_URL_PATTERN = None  # production pattern: our local URL fails it
    response = post(ses_brand, fake_sns.notification(TOPIC, ses_event(message, "Delivery")))
    assert response.status_code == 403
    assert fake_sns.requests == []  # never fetched


@pytest.mark.django_db
def test_expired_certificate_is_refused(ses_brand, message, fake_sns):
    fake_sns.cert_pem = make_certificate(fake_sns.key, valid=False)
    response = post(ses_brand, fake_sns.notification(TOPIC, ses_event(message, "Delivery")))
    assert response.status_code == 403


@pytest.mark.django_db
def test_certificate_is_fetched_once(ses_brand, message, fake_sns):
    for event in ("Send", "Delivery", "Open"):
        envelope = fake_sns.notification(TOPIC, ses_event(message, event))
        assert post(ses_brand, envelope).status_code == 200
    assert len(fake_sns.requests) == 1


@pytest.mark.django_db
def test_message_of_another_topic_is_403(ses_brand, message, fake_sns):
    envelope = fake_sns.notification("someone-elses-topic", ses_event(message, "Delivery"))
    assert post(ses_brand, envelope).status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db
def test_permanent_bounce_suppresses_transient_does_not(tenant, ses_brand, fake_sns):
    hard = make_message(ses_brand, recipient="Gone@Example.com", provider_message_id="ses-1")
    soft = make_message(ses_brand, recipient="full@example.com", provider_message_id="ses-2")
    for msg, kind in ((hard, "Permanent"), (soft, "Transient")):
        event = ses_event(msg, "Bounce", bounceType=kind, bounceSubType="General",
                          timestamp="2024-03-01T10:01:00.000Z", feedbackId=f"fb-{kind}",
                          bouncedRecipients=[{"emailAddress": msg.recipient, "action": "failed",
                                              "status": "5.1.1",
                                              "diagnosticCode": "smtp; 550 5.1.1 unknown"}])
        assert post(ses_brand, fake_sns.notification(TOPIC, event)).status_code == 200
    hard.refresh_from_db()
    soft.refresh_from_db()
    assert (hard.status, soft.status) == ("bounced", "bounced")
    assert hard.status_reason == "bounce: Permanent/General: smtp; 550 5.1.1 unknown"
    assert list(Suppression.objects.values_list("tenant_id", "address", "reason")) == [
        (tenant.id, "gone@example.com", "hard_bounce")
    ]


@pytest.mark.django_db
def test_complaint_is_spam_and_suppressed(ses_brand, message, fake_sns):
    event = ses_event(message, "Complaint", complainedRecipients=[
        {"emailAddress": message.recipient}], complaintFeedbackType="abuse",
        timestamp="2024-03-01T11:00:00.000Z", feedbackId="fb-1")
    assert post(ses_brand, fake_sns.notification(TOPIC, event)).status_code == 200
    message.refresh_from_db()
    assert message.status == "spam"
    assert Suppression.objects.get().reason == "spam_complaint"


@pytest.mark.django_db
@pytest.mark.parametrize(("event_type", "body", "status"), [
    ("Send", {}, "sent"),
    ("Reject", {"reason": "Bad content"}, "blocked"),
    ("Click", {"link": "https://example.com", "timestamp": "2024-03-01T10:07:00Z"}, "clicked"),
    ("Rendering Failure", {"errorMessage": "Attribute 'x' is not present"}, "failed"),
    ("DeliveryDelay", {"delayType": "MailboxFull"}, "sent"),
])
def test_event_types(ses_brand, message, fake_sns, event_type, body, status):
    response = post(ses_brand, fake_sns.notification(TOPIC, ses_event(message, event_type, **body)))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == status


@pytest.mark.django_db
def test_matches_by_tag_when_the_ses_id_is_not_recorded_yet(ses_brand, fake_sns, receiver,
                                                            tenant):
    """The callback can beat the worker's commit of the SES id; our tag still finds the row."""
    make_endpoint(tenant, receiver)
    message = make_message(ses_brand, status="sending")
    event = ses_event(message, "Delivery")
    event["mail"]["messageId"] = SES_ID
    assert post(ses_brand, fake_sns.notification(TOPIC, event)).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert WebhookInteraction.objects.filter(event="message_status_update").count() == 1


@pytest.mark.django_db
def test_classic_identity_notification_is_understood(ses_brand, message, fake_sns):
    event = ses_event(message, "Delivery", timestamp="2024-03-01T10:00:02.000Z")
    event["notificationType"] = event.pop("eventType")
    envelope = fake_sns.notification(TOPIC, event, subject="Delivery")
    assert post(ses_brand, envelope).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


@pytest.mark.django_db
def test_unknown_message_and_non_ses_payload_are_acknowledged(ses_brand, message, fake_sns):
    unknown = ses_event(message, "Delivery")
    unknown["mail"].update(messageId="someone-else", tags={}, commonHeaders={})
    assert post(ses_brand, fake_sns.notification(TOPIC, unknown)).status_code == 200
    assert post(ses_brand, fake_sns.notification(TOPIC, "plain text, not JSON")).status_code == 200
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"{broken", b"[]", b'{"no": "type"}'])
def test_malformed_body_is_400(ses_brand, raw):
    assert post(ses_brand, raw).status_code == 400


@pytest.mark.django_db
def test_unknown_token_is_404(fake_sns, message):
    response = ApiClient().post("/hooks/ses/unknown-token", raw=b"{}", content_type="text/plain")
    assert response.status_code == 404
