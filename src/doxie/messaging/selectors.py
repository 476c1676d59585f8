"""Reads for messaging; the tenant is always the first argument (isolation by construction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch

from doxie.messaging.models import (
    EmailTemplate,
    Message,
    MessageStatusEvent,
    RcsTemplate,
    SmsTemplate,
    Suppression,
)
from doxie.processes.models import Event, Process

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant


@dataclass
class EventTemplates:
    email: list[EmailTemplate]
    sms: list[SmsTemplate]
    rcs: list[RcsTemplate]

    def __len__(self) -> int:
        return len(self.email) + len(self.sms) + len(self.rcs)


def event_templates(event: Event) -> EventTemplates:
    """All templates of an event in their configured order: three queries, however many."""
    return EventTemplates(
        email=list(EmailTemplate.objects.filter(event=event).order_by("position", "id")),
        sms=list(SmsTemplate.objects.filter(event=event).order_by("position", "id")),
        rcs=list(RcsTemplate.objects.filter(event=event).order_by("position", "id")),
    )


def suppressed(tenant: Tenant, addresses: Iterable[str]) -> dict[str, str]:
    """``{address: reason}`` for the given (normalised, lower-case) addresses; one query."""
    wanted = list(dict.fromkeys(addresses))
    if not wanted:
        return {}
    return dict(
        Suppression.objects.for_tenant(tenant)
        .filter(address__in=wanted)
        .values_list("address", "reason")
    )


def process_messages(tenant: Tenant, process: Process):
    return Message.objects.for_tenant(tenant).filter(process=process).order_by("id")


def _masked(recipient: str) -> str:
    """Enough to recognise an address in the process view, not enough to harvest it:
    ``m***@example.com``, ``+49*******567``; a pseudonymized one says so."""
    if recipient.startswith("pseudonym:"):
        return "(pseudonymized)"
    local, at, domain = recipient.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    if len(recipient) > 6:
        return recipient[:3] + "*" * (len(recipient) - 6) + recipient[-3:]
    return "*" * len(recipient)


def describe_process_messages(process: Process) -> list[dict[str, Any]]:
    """The process view's ``messages``: every message of the process with its status
    history, oldest first. Two queries however many messages and status rows."""
    history = Prefetch(
        "status_events",
        queryset=MessageStatusEvent.objects.order_by("occurred_at", "id").only(
            "message_id", "status", "occurred_at", "source", "detail"
        ),
    )
    messages = (
        Message.objects.filter(tenant_id=process.tenant_id, process_id=process.pk)
        .order_by("id")
        .only("id", "channel", "template_name", "recipient", "status", "status_reason",
              "provider", "created_at", "sent_at")
        .prefetch_related(history)
    )
    return [
        {
            "message_id": m.id,
            "channel": m.channel,
            "template_name": m.template_name,
            "recipient": _masked(m.recipient),
            "status": m.status,
            "status_reason": m.status_reason,
            "provider": m.provider or None,
            "created_at": m.created_at,
            "sent_at": m.sent_at,
            "status_history": [
                {"status": e.status, "occurred_at": e.occurred_at, "source": e.source,
                 "reason": (e.detail or {}).get("reason")}
                for e in m.status_events.all()
            ],
        }
        for m in messages
    ]
