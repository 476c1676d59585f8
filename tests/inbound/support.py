"""Helpers for the inbound-callback and tracking tests: brands, messages as the delivery
worker leaves them (status ``sent`` with provider ids), and verified webhook payloads."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from standardwebhooks.webhooks import Webhook

from doxie.brands import services as brand_services
from doxie.brands.models import Brand
from doxie.messaging.models import Message, MessageStatusEvent
from doxie.processes.models import Event, Process
from doxie.webhooks import services as webhook_services
from doxie.webhooks.models import WebhookEndpoint
from tests.fakes.webhook_receiver import WebhookReceiver

ORIGINAL = {"email": "john.doe@example.com", "event_slug": "concert", "phone": "0123456789"}
STATUS_ENDPOINT = "Webhook::MessageStatusEndpoint"
LINK_ENDPOINT = "Webhook::LinkClickedEndpoint"
RCS_ENDPOINT = "Webhook::RcsResponseEndpoint"
SEED_STATUS_KEYS = {
    "process_id", "message_type", "message_id", "recipient_specific_message_id", "recipient",
    "status", "timestamp", "original_payload",
}


def make_brand(tenant, slug: str = "acme-brand", **fields: Any) -> Brand:
    brand = brand_services.create_brand(tenant=tenant, attributes={"name": slug, "slug": slug})
    if fields:
        Brand.objects.filter(pk=brand.pk).update(**fields)
        brand.refresh_from_db()
    return brand


def make_process(brand: Brand, *, event_slug: str = "concert",
                 original_payload: dict | None = None) -> Process:
    event, _ = Event.objects.get_or_create(
        tenant=brand.tenant, slug=event_slug, defaults={"brand": brand}
    )
    return Process.objects.create(
        tenant=brand.tenant, kind="mailer", event=event,
        original_payload=ORIGINAL if original_payload is None else original_payload,
    )


def make_message(
    brand: Brand, *, process: Process | None = None, channel: str = "email",
    recipient: str = "john.doe@example.com", status: str = "sent",
    provider_message_id: str = "", provider: str = "",
) -> Message:
    process = process or make_process(brand)
    return Message.objects.create(
        tenant=brand.tenant, brand=brand, process=process, event=process.event,
        channel=channel, recipient=recipient, status=status, provider=provider,
        provider_message_id=provider_message_id,
        recipient_message_ids={recipient: provider_message_id} if provider_message_id else {},
        subject="Hello", text="Hello",
    )


def history(message: Message) -> list[tuple[str, str]]:
    """(status, source) of every status event, oldest first."""
    return list(
        MessageStatusEvent.objects.filter(message=message)
        .order_by("occurred_at", "id")
        .values_list("status", "source")
    )


def make_endpoint(tenant, receiver: WebhookReceiver, type: str = STATUS_ENDPOINT,
                  path: str = "/hook") -> tuple[WebhookEndpoint, str]:
    return webhook_services.create_endpoint(
        tenant=tenant, type=type, url=receiver.url(path), send_original_payload=True
    )


def received(receiver: WebhookReceiver, secret: str, event: str) -> list[dict[str, Any]]:
    """Payloads of ``event`` the receiver got, each verified with standardwebhooks."""
    return [
        Webhook(secret).verify(hit.body, hit.headers)
        for hit in receiver.hits()
        if hit.header("doxie-event") == event
    ]


def delete_jobs() -> None:
    """procrastinate's tables are unmanaged: transactional tests' flush leaves their rows."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_periodic_defers")


def new_id() -> str:
    return str(uuid.uuid4())
