"""Mailjet event callbacks in Mailjet's own format, posted to the real hook URL."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from doxie.messaging.models import Message, MessageStatusEvent, Suppression
from doxie.webhooks.models import WebhookInteraction
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

MJ_ID = "19421777835146490"
T0 = 1_700_000_000


def mj_event(message: Message, event: str, time: int = T0, **extra) -> dict:
    """An event as Mailjet posts it (MessageID is a JSON number)."""
    body = {
        "event": event,
        "time": time,
        "MessageID": int(message.provider_message_id or MJ_ID),
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0a1b2c3",
        "email": message.recipient,
        "mj_campaign_id": 7257,
        "mj_contact_id": 4,
        "customcampaign": "",
        "mj_message_id": message.provider_message_id or MJ_ID,
        "CustomID": str(message.public_id),
        "Payload": "",
    }
    if event == "sent":
        body["smtp_reply"] = "sent (250 2.0.0 OK 1433333948 fa5si855896wjc.199 - gsmtp)"
    if event in ("open", "click"):
        body.update(ip="127.0.0.1", geo="US", agent="Mozilla/5.0")
    if event == "click":
        body["url"] = "https://example.com/offer"
    body.update(extra)
    return body


def post(brand, body, *, raw: bytes | None = None):
    return ApiClient().post(f"/hooks/mailjet/{brand.inbound_token}", body, raw=raw)


@pytest.fixture
def message(brand) -> Message:
    return make_message(brand, provider="mailjet", provider_message_id=MJ_ID)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_batch_updates_status_history_and_webhooks_once(tenant, receiver):
    brand = make_brand(tenant)
    message = make_message(brand, provider="mailjet", provider_message_id=MJ_ID)
    _, secret = make_endpoint(tenant, receiver)
    batch = [mj_event(message, "sent", T0), mj_event(message, "open", T0 + 60)]

    response = post(brand, batch)
    assert response.status_code == 200 and response.json() == {"received": True}
    message.refresh_from_db()
    assert message.status == "opened"
    assert history(message) == [("delivered", "mailjet"), ("opened", "mailjet")]
    run_jobs()
    # The drainer sends a batch concurrently: arrival order is not emission order.
    hooks = sorted(received(receiver, secret, "message_status_update"),
                   key=lambda h: h["timestamp"])
    assert [h["status"] for h in hooks] == ["delivered", "opened"]
    first = hooks[0]
    assert set(first) == SEED_STATUS_KEYS
    assert first == {
        "process_id": str(message.process.uuid),
        "message_type": "email",
        "message_id": message.id,
        "recipient_specific_message_id": MJ_ID,
        "recipient": "john.doe@example.com",
        "status": "delivered",
        "timestamp": "2023-11-14T22:13:20Z",
        "original_payload": ORIGINAL,
    }

    # Mailjet retries the whole batch: nothing new anywhere.
    assert post(brand, batch).status_code == 200
    run_jobs()
    assert MessageStatusEvent.objects.filter(message=message).count() == 2
    assert len(received(receiver, secret, "message_status_update")) == 2


@pytest.mark.django_db
def test_out_of_order_events_never_regress(brand, message):
    post(brand, mj_event(message, "open", T0 + 60))
    post(brand, mj_event(message, "sent", T0))
    message.refresh_from_db()
    assert message.status == "opened"
    assert sorted(s for s, _ in history(message)) == ["delivered", "opened"]


@pytest.mark.django_db
def test_late_callback_emits_nothing(tenant, brand, message, receiver):
    make_endpoint(tenant, receiver)
    post(brand, [mj_event(message, "click", T0 + 90)])
    post(brand, [mj_event(message, "open", T0 + 60)])
    rows = WebhookInteraction.objects.filter(event="message_status_update")
    assert [r.sent_payload["status"] for r in rows] == ["clicked"]


@pytest.mark.django_db
def test_batch_is_applied_in_event_time_order(tenant, brand, message, receiver):
    """Mailjet's batch order is arbitrary; one message's events are applied as they happened."""
    make_endpoint(tenant, receiver)
    post(brand, [mj_event(message, "click", T0 + 90), mj_event(message, "open", T0 + 60)])
    rows = WebhookInteraction.objects.filter(event="message_status_update").order_by("id")
    assert [r.sent_payload["status"] for r in rows] == ["opened", "clicked"]


@pytest.mark.django_db
def test_hard_bounce_suppresses_the_address(tenant, brand):
    message = make_message(brand, recipient="Jane.Doe@Example.com", provider_message_id=MJ_ID)
    bounce = mj_event(message, "bounce", blocked=False, hard_bounce=True,
                      error_related_to="recipient", error="user unknown", comment="")
    assert post(brand, [bounce]).status_code == 200
    assert post(brand, [bounce]).status_code == 200  # idempotent
    message.refresh_from_db()
    assert message.status == "bounced"
    assert message.status_reason == "bounce: user unknown"
    (entry,) = Suppression.objects.filter(tenant=tenant)
    assert (entry.address, entry.reason, entry.source_message_id) == (
        "jane.doe@example.com", "hard_bounce", message.id
    )


@pytest.mark.django_db
def test_soft_bounce_does_not_suppress_but_spam_does(tenant, brand):
    soft = make_message(brand, recipient="soft@example.com", provider_message_id="1")
    spam = make_message(brand, recipient="spam@example.com", provider_message_id="2")
    post(brand, [
        mj_event(soft, "bounce", hard_bounce=False, error="mailbox full"),
        mj_event(spam, "spam", source="JMRPP"),
    ])
    soft.refresh_from_db()
    spam.refresh_from_db()
    assert (soft.status, spam.status) == ("bounced", "spam")
    assert list(Suppression.objects.values_list("address", "reason")) == [
        ("spam@example.com", "spam_complaint")
    ]


@pytest.mark.django_db
def test_every_event_type_maps_to_our_status(brand):
    expected = {"sent": "delivered", "open": "opened", "click": "clicked",
                "bounce": "bounced", "spam": "spam", "blocked": "blocked",
                "unsub": "unsubscribed"}
    for i, (event, status) in enumerate(expected.items()):
        message = make_message(brand, provider_message_id=str(1000 + i))
        assert post(brand, mj_event(message, event)).status_code == 200
        message.refresh_from_db()
        assert message.status == status, event


@pytest.mark.django_db
def test_matches_by_message_id_when_custom_id_is_missing(tenant, brand, message):
    other_brand = make_brand(tenant, slug="other-brand")
    same_id_elsewhere = make_message(other_brand, provider_message_id=MJ_ID)
    post(brand, mj_event(message, "sent", CustomID=""))
    message.refresh_from_db()
    same_id_elsewhere.refresh_from_db()
    assert message.status == "delivered"
    assert same_id_elsewhere.status == "sent"  # another brand's message is out of reach


@pytest.mark.django_db
def test_other_brands_token_cannot_touch_a_message(tenant, message):
    intruder = make_brand(tenant, slug="intruder")
    assert post(intruder, mj_event(message, "spam")).status_code == 200
    message.refresh_from_db()
    assert message.status == "sent"
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_unknown_and_unreadable_events_are_acknowledged_and_skipped(brand, message):
    body = [
        {"event": "sent", "time": T0, "MessageID": 1, "CustomID": "not-ours"},
        {"event": "sent", "time": T0, "CustomID": "00000000-0000-0000-0000-000000000000"},
        {"event": "deferred", "MessageID": int(MJ_ID)},
        "garbage",
        mj_event(message, "sent"),
    ]
    assert post(brand, body).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"{not json", b'"a string"', b"42", b""])
def test_malformed_body_is_400(brand, message, raw):
    response = post(brand, None, raw=raw)
    assert response.status_code == 400
    assert response.json()["received"] is False


@pytest.mark.django_db
def test_unknown_token_is_404(brand, message):
    response = ApiClient().post("/hooks/mailjet/not-a-token", [mj_event(message, "sent")])
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db
def test_single_event_object_is_accepted(brand, message):
    response = ApiClient().post(
        f"/hooks/mailjet/{brand.inbound_token}",
        raw=json.dumps(mj_event(message, "open")).encode(),
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "opened"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_concurrent_duplicate_batches_apply_once_without_deadlock(tenant, receiver):
    """Real connections: the same events in opposite orders, posted at once."""
    brand = make_brand(tenant)
    messages = [make_message(brand, provider_message_id=str(500 + i)) for i in range(5)]
    make_endpoint(tenant, receiver)
    batch = [mj_event(m, kind, T0 + 10 * i + step)
             for i, m in enumerate(messages) for step, kind in enumerate(("sent", "open"))]
    bodies = [batch, batch[::-1], batch, batch[::-1]]
    barrier = threading.Barrier(len(bodies))

    def send(body: list) -> int:
        barrier.wait()
        try:
            return post(brand, body).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(bodies)) as pool:
        codes = list(pool.map(send, bodies))
    assert codes == [200] * len(bodies)
    assert MessageStatusEvent.objects.count() == 10
    assert set(Message.objects.values_list("status", flat=True)) == {"opened"}
    assert WebhookInteraction.objects.filter(event="message_status_update").count() == 10
