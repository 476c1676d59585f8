"""``emit_sent``: a drained batch of sent messages is one ``emit_many`` at a fixed cost."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from doxie.messaging.models import EmailTemplate, Message
from doxie.messaging.services import emit_sent
from doxie.providers.base import SendResult
from doxie.webhooks import services as webhooks
from doxie.webhooks.models import WebhookInteraction
from tests.messaging.conftest import mailer, make_brand, make_event


def _sent(messages: list[Message]) -> list:
    now = timezone.now()
    return [(m.id, SendResult(f"p-{m.id}", {m.recipient: f"r-{m.id}"}), now) for m in messages]


@pytest.mark.django_db
def test_sent_batch_costs_the_same_for_2_or_30_messages(api, api_caller, tenant):
    brand = make_brand(tenant)
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(
        to="{% for i in range(33) %}user{{ i }}@example.org,{% endfor %}")
    assert mailer(api, api_caller).status_code == 200
    messages = list(Message.objects.order_by("id"))
    assert len(messages) == 33
    for original in (False, True):
        webhooks.create_endpoint(tenant=tenant, type="Webhook::MessageSentEndpoint",
                                 url="https://hooks.example.com/", send_original_payload=original)

    emit_sent(brand, _sent(messages[:1]))  # the drainers are now waiting
    with CaptureQueriesContext(connection) as few:
        emit_sent(brand, _sent(messages[1:3]))
    with CaptureQueriesContext(connection) as many:
        emit_sent(brand, _sent(messages[3:]))
    assert len(many) == len(few) <= 5, [q["sql"][:80] for q in many.captured_queries]

    rows = WebhookInteraction.objects.filter(event="message_sent")
    assert rows.count() == 2 * 33
    last = messages[-1]
    with_original = rows.get(process_id=str(last.process.uuid), sent_payload__message_id=last.id,
                             endpoint__send_original_payload=True)
    assert with_original.sent_payload["recipient_specific_message_ids"] == [f"r-{last.id}"]
    assert with_original.sent_payload["original_payload"]["first_name"] == "Max"
    assert with_original.sent_payload["timestamp"].endswith("Z")


@pytest.mark.django_db
def test_nobody_listening_is_one_query(api, api_caller, tenant):
    brand = make_brand(tenant)
    make_event(tenant, brand)
    assert mailer(api, api_caller).status_code == 200
    sent = _sent(list(Message.objects.all()))
    with CaptureQueriesContext(connection) as queries:
        emit_sent(brand, sent)
    assert len(queries) == 1
    assert not WebhookInteraction.objects.exists()
