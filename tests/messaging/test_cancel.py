"""P7: cancel a process — conflicts, isolation, history rows, and other apps' cancellers."""

from __future__ import annotations

import uuid

import pytest

from doxie.messaging import delivery
from doxie.messaging.models import Message, MessageStatusEvent
from doxie.processes.models import Process
from doxie.webhooks.models import WebhookInteraction
from tests.messaging.conftest import drain, mailer, make_brand, make_event


def cancel(api, caller, process_uuid, tenant: str = "acme"):
    return api.post(f"/api/v1/{tenant}/processes/{process_uuid}/cancel", caller=caller)


@pytest.fixture
def brand(tenant, smtp_server):
    return make_brand(tenant, smtp=smtp_server)


@pytest.mark.django_db
def test_cancel_queued_messages_with_history_and_webhook(api, api_caller, tenant, brand):
    from doxie.webhooks import services as webhooks

    webhooks.create_endpoint(tenant=tenant, type="Webhook::ProcessCancellationEndpoint",
                             url="http://127.0.0.1:9/cancel")
    make_event(tenant, brand, sms=1)
    process_uuid = mailer(api, api_caller).json()["process_uuid"]
    response = cancel(api, api_caller, process_uuid)
    assert response.status_code == 200
    assert response.json()["data"]["cancelled_messages"] == 2
    process = Process.objects.get()
    assert process.status == "cancelled" and process.cancelled_at is not None
    for message in Message.objects.all():
        assert message.status == "cancelled" and message.next_attempt_at is None
        history = list(MessageStatusEvent.objects.filter(message=message)
                       .values_list("status", flat=True))
        assert history == ["queued", "cancelled"]
    [interaction] = WebhookInteraction.objects.filter(event="process_cancellation")
    assert interaction.sent_payload["process_uuid"] == process_uuid
    assert "original_payload" not in interaction.sent_payload  # endpoint did not ask for it
    assert drain(brand) == 0
    assert cancel(api, api_caller, process_uuid).status_code == 409


@pytest.mark.django_db
def test_finished_process_is_a_conflict(api, api_caller, tenant, brand, smtp_server):
    make_event(tenant, brand)
    process_uuid = mailer(api, api_caller).json()["process_uuid"]
    drain(brand)
    assert Process.objects.get().status == "finished"
    response = cancel(api, api_caller, process_uuid)
    assert response.status_code == 409
    assert "finished" in response.json()["error_message"]
    assert len(smtp_server.received) == 1


@pytest.mark.django_db
def test_in_flight_messages_are_not_counted_but_the_rest_is_cancelled(api, api_caller, tenant,
                                                                     brand, smtp_server):
    make_event(tenant, brand, sms=1)
    process_uuid = mailer(api, api_caller).json()["process_uuid"]
    email = Message.objects.get(channel="email")
    Message.objects.filter(channel="sms").update(status="sending")  # a drainer holds it
    assert cancel(api, api_caller, process_uuid).json()["data"]["cancelled_messages"] == 1
    email.refresh_from_db()
    assert email.status == "cancelled"


@pytest.mark.django_db
def test_unknown_malformed_and_foreign_processes_are_404(api, api_caller, other_api_caller,
                                                        tenant, other_tenant, brand):
    other_brand = make_brand(other_tenant, "other-brand")
    make_event(other_tenant, other_brand)
    theirs = mailer(api, other_api_caller, tenant="other").json()["process_uuid"]
    assert cancel(api, api_caller, theirs).status_code == 404
    assert cancel(api, api_caller, uuid.uuid4()).status_code == 404
    assert cancel(api, api_caller, "not-a-uuid").status_code == 404
    assert cancel(api, None, theirs).status_code == 401
    assert cancel(api, other_api_caller, theirs).status_code == 401  # their user, our path
    assert Process.objects.get(uuid=theirs).status == "active"


@pytest.mark.django_db
def test_cancelling_a_consent_process_revokes_its_pending_consent(api, api_caller, tenant,
                                                                  brand):
    from doxie.consents import services as consents
    from doxie.consents.models import Consent, ConsentPurpose

    ConsentPurpose.objects.create(
        tenant=tenant, slug="newsletter", name="Newsletter", brand=brand,
        doi_email_sender="noreply@acme.example.com", doi_email_subject="Bitte bestätigen",
        doi_email_html="<a href='{{ confirmation_url }}'>ok</a>")
    result = consents.initiate(tenant=tenant, customer_id="c-1", consent_slug="newsletter",
                               email="max@example.org", actor=consents.Actor("api_user:t"))
    response = cancel(api, api_caller, result.process_uuid)
    assert response.status_code == 200
    assert response.json()["data"]["cancelled_messages"] == 1  # the DOI email
    assert Consent.objects.get().status == "revoked"


@pytest.mark.django_db
def test_a_claimed_batch_of_a_cancelled_process_is_not_sent(api, api_caller, tenant, brand,
                                                           smtp_server):
    make_event(tenant, brand)
    process_uuid = mailer(api, api_caller).json()["process_uuid"]
    assert cancel(api, api_caller, process_uuid).status_code == 200
    claim = delivery.claim_batch(brand.id, "run")
    assert claim.rows == [] and claim.claimed_any is False
    assert smtp_server.received == []
