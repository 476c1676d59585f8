"""Helpers for webhook tests: a drain runner, endpoint maker and sample event data.

The drain is the production coroutine, run to completion with ``async_to_sync``: its
database steps then execute on the test's thread and connection (inside the test
transaction), while the HTTP side talks to the receiver over real sockets.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync

from doxie.core.http import SafeClient
from doxie.webhooks import delivery, services
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
    "message_id": "1234567890",
    "recipient_specific_message_ids": [["1234567890"]],
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
