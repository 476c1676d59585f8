"""Helpers for webhook tests: a drain runner, endpoint maker and sample event data.

The drain is the production coroutine, run to completion with ``async_to_sync``: its
database steps then execute on the test's thread and connection (inside the test
transaction), while the HTTP side talks to the receiver over real sockets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync

from doxie.core.http import SafeClient
from doxie.webhooks import delivery, services
from doxie.webhooks.events import (
    DoiConfirmation,
    LinkClicked,
    MessageSent,
    MessageStatusUpdate,
    ProcessCancellation,
    QrCodeScanned,
    RcsResponse,
    SurveyResponse,
    WebhookEvent,
)
from doxie.webhooks.models import WebhookEndpoint
from tests.fakes.webhook_receiver import WebhookReceiver


async def _drain(endpoint_id: int) -> int:
    async with SafeClient() as client:
        return await delivery.drain_endpoint(endpoint_id, client=client)


def run_drain(endpoint_id: int) -> int:
    """One drainer run to completion; returns the number of attempts it made."""
    return async_to_sync(_drain)(endpoint_id)


def make_endpoint(
    tenant, receiver: WebhookReceiver, *, type: str = "Webhook::MessageSentEndpoint",
    path: str = "/hook", **fields,
) -> tuple[WebhookEndpoint, str]:
    return services.create_endpoint(tenant=tenant, type=type, url=receiver.url(path), **fields)


MESSAGE_SENT = {
    "process_id": "123e4567-e89b-12d3-a456-426614174000",
    "message_type": "email",
    "message_id": 1234567890,
    "recipient_specific_message_ids": ["1234567890", "1234567891"],
    "recipient": "john.doe@example.com",
    "subject": "Hello, world!",
    "text": "Hello, world!",
    "html": "<p>Hello, world!</p>",
    "original_brand_slug": "acme",
    "original_tenant_slug": "acme",
    "original_event_slug": "concert",
    "timestamp": "2021-01-01T00:00:00Z",
}
ORIGINAL = {"email": "john.doe@example.com", "event_slug": "concert", "phone": "0123456789"}

#: The event whose body is ``MESSAGE_SENT`` (tests/webhooks/test_events.py checks it).
SENT = MessageSent(
    process_id="123e4567-e89b-12d3-a456-426614174000",
    message_type="email",
    message_id=1234567890,
    recipient_specific_message_ids=("1234567890", "1234567891"),
    recipient="john.doe@example.com",
    subject="Hello, world!",
    text="Hello, world!",
    html="<p>Hello, world!</p>",
    original_brand_slug="acme",
    original_tenant_slug="acme",
    original_event_slug="concert",
    timestamp=datetime(2021, 1, 1, tzinfo=UTC),
)


def message_sent(**changes: Any) -> MessageSent:
    """``SENT`` with some fields changed (e.g. ``text``, ``original_payload``)."""
    return replace(SENT, **changes)


AT = datetime(2021, 1, 1, tzinfo=UTC)
PROCESS = "123e4567-e89b-12d3-a456-426614174000"
#: One instance of every emitted event, as the call sites build them.
SAMPLES: dict[str, WebhookEvent] = {
    "message_sent": SENT,
    "message_status_update": MessageStatusUpdate(
        process_id=PROCESS, message_type="email", message_id=1234567890,
        recipient_specific_message_id="1234567890", recipient="john.doe@example.com",
        status="sent", timestamp=AT,
    ),
    "link_clicked": LinkClicked(
        process_id=PROCESS, url="https://example.com/concert",
        recipients="john.doe@example.com, jane.doe@example.com, 0123456789",
        original_tenant_slug="ts", original_event_slug="concert", timestamp=AT,
    ),
    "doi_confirmation": DoiConfirmation(
        identifier=PROCESS, timestamp=AT, ip_address="123.123.123.123",
    ),
    "process_cancellation": ProcessCancellation(process_uuid=PROCESS, cancellation_timestamp=AT),
    "qr_code_scanned": QrCodeScanned(
        process_id=PROCESS, target_url="https://example.com/",
        valid_until=datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        qr_code_uuid="123e4567-e89b-12d3-a456-426614174001", timestamp=AT, status="active",
    ),
    "rcs_response": RcsResponse(
        process_id=PROCESS, message_id=1234567890, agent_id="doxie_agent",
        sender="491234567890", timestamp=AT,
        message_content={"text": "This is a test RCS message."},
    ),
    "survey_response": SurveyResponse(
        process_id=PROCESS, inquiry_id="123e4567-e89b-12d3-a456-426614174002",
        original_tenant_slug="acme", original_event_slug="feedback",
        answers={"nps": 9}, completed_at=AT,
    ),
}
