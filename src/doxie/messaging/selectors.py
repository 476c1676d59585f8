"""Reads for messaging; the tenant is always the first argument (isolation by construction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doxie.core.errors import NotFound
from doxie.messaging.models import (
    EmailTemplate,
    Event,
    Message,
    Process,
    RcsTemplate,
    SmsTemplate,
    Suppression,
)

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant


def get_event(tenant: Tenant, slug: str) -> Event:
    """The tenant's event with its brand, or 404 (another tenant's slug is just as unknown)."""
    event = Event.objects.for_tenant(tenant).select_related("brand").filter(slug=slug).first()
    if event is None:
        raise NotFound(f"Event '{slug}' not found")
    return event


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


def parse_process_uuid(raw: str) -> uuid.UUID:
    """A malformed UUID names no process: 404, like an unknown one."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound("Process not found") from None


def get_process(tenant: Tenant, process_uuid: str) -> Process:
    process = (
        Process.objects.for_tenant(tenant).filter(uuid=parse_process_uuid(process_uuid)).first()
    )
    if process is None:
        raise NotFound("Process not found")
    return process


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
