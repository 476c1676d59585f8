"""Reads for webhook endpoints and their interaction log; the tenant is always first."""

from __future__ import annotations

from django.db.models import QuerySet

from doxie.core.errors import NotFound
from doxie.tenants.models import Tenant
from doxie.webhooks.models import WebhookEndpoint, WebhookInteraction


def parse_id(raw: str | int, what: str = "Webhook endpoint") -> int:
    """Ids are strings in the API; anything that is not a positive integer is simply unknown.
    ASCII digits only: ``str.isdigit()`` also accepts ``①`` (``int()`` fails) and Arabic-Indic
    digits (``int("١٢")`` is 12, another endpoint)."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) == 0:
        raise NotFound(f"{what} not found")
    return int(text)


def endpoints(tenant: Tenant, *, show_inactive: bool = False) -> QuerySet[WebhookEndpoint]:
    queryset = WebhookEndpoint.objects.for_tenant(tenant).order_by("id")
    return queryset if show_inactive else queryset.filter(is_active=True)


def get_endpoint(tenant: Tenant, endpoint_id: str | int) -> WebhookEndpoint:
    """The tenant's endpoint, or 404 (another tenant's id is as unknown as a missing one)."""
    endpoint = (
        WebhookEndpoint.objects.for_tenant(tenant).filter(id=parse_id(endpoint_id)).first()
    )
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


def interactions(endpoint: WebhookEndpoint) -> QuerySet[WebhookInteraction]:
    """The endpoint's log, newest first (A25)."""
    return WebhookInteraction.objects.filter(
        tenant_id=endpoint.tenant_id, endpoint=endpoint
    ).order_by("-created_at", "-id")


def get_interaction(
    endpoint: WebhookEndpoint, interaction_id: str | int
) -> WebhookInteraction:
    interaction = (
        interactions(endpoint).filter(id=parse_id(interaction_id, "Interaction")).first()
    )
    if interaction is None:
        raise NotFound("Interaction not found")
    return interaction
