"""Writes for webhooks: endpoint use cases, ``emit`` (called by other apps) and the
housekeeping the periodic tasks run. One function per use case, keyword-only.

``emit`` is on the hot path of every message, click and status update, so it costs a fixed
handful of queries whatever the number of endpoints: one SELECT of the matching endpoints,
one bulk INSERT of interactions and the drainer deferral (see ``dispatch``). ``emit_many``
does the same for a whole batch of events. Both take only the typed events of
``webhooks.events``: the payloads are built there, never by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from doxie.core.crypto import keep_or_replace
from doxie.core.drain import BatchBudget, delete_in_batches
from doxie.core.errors import Conflict, FieldError, Invalid, NotFound
from doxie.core.http import validate_url_syntax
from doxie.tenants.models import Tenant
from doxie.webhooks import selectors
from doxie.webhooks.dispatch import defer_drainers
from doxie.webhooks.events import ENDPOINT_TYPES, Ping, WebhookEvent
from doxie.webhooks.models import (
    TERMINAL_STATUSES,
    InteractionStatus,
    WebhookEndpoint,
    WebhookInteraction,
)
from doxie.webhooks.signing import generate_secret, new_event_id

#: How long a rotated-out secret keeps signing next to the new one.
ROTATION_GRACE = timedelta(hours=24)
_UPDATABLE = (
    "type", "url", "basic_auth_username", "basic_auth_password", "is_active",
    "send_original_payload",
)


def _validate(endpoint: WebhookEndpoint) -> None:
    problems: list[FieldError] = []
    if endpoint.type not in ENDPOINT_TYPES:
        problems.append(FieldError("type", f"must be one of {', '.join(ENDPOINT_TYPES)}"))
    if url_problem := validate_url_syntax(endpoint.url):
        problems.append(FieldError("url", url_problem))
    if endpoint.basic_auth_password and not endpoint.basic_auth_username:
        problems.append(FieldError("basic_auth_username", "is required with a password"))
    if endpoint.basic_auth_username and ":" in endpoint.basic_auth_username:
        problems.append(FieldError("basic_auth_username", "must not contain ':'"))
    if problems:
        raise Invalid(problems, message="; ".join(f"{p.field} {p.message}" for p in problems))


@transaction.atomic
def create_endpoint(
    *,
    tenant: Tenant,
    type: str,  # noqa: A002 - the contract's field name
    url: str,
    basic_auth_username: str | None = None,
    basic_auth_password: str | None = None,
    is_active: bool = True,
    send_original_payload: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns it with its signing secret (the only time it is shown)."""
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        tenant=tenant,
        type=type,
        url=url,
        basic_auth_username=basic_auth_username or None,
        basic_auth_password=basic_auth_password or None,
        is_active=is_active,
        send_original_payload=send_original_payload,
        signing_secret=secret,
        deactivated_at=None if is_active else timezone.now(),
    )
    _validate(endpoint)
    endpoint.save()
    return endpoint, secret


def _locked(tenant: Tenant, endpoint_id: str | int) -> WebhookEndpoint:
    """The tenant's endpoint, row-locked (NO KEY: emits inserting interactions don't wait)."""
    endpoint = (
        WebhookEndpoint.objects.for_tenant(tenant)
        .select_for_update(no_key=True)
        .filter(id=selectors.parse_id(endpoint_id))
        .first()
    )
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


def _fail_pending(endpoint: WebhookEndpoint, reason: str) -> int:
    """Pending deliveries of a deactivated endpoint end now, so nothing waits forever."""
    return WebhookInteraction.objects.filter(
        endpoint=endpoint, status=InteractionStatus.PENDING
    ).update(
        status=InteractionStatus.FAILED,
        next_attempt_at=None,
        error=f"endpoint deactivated: {reason}",
        updated_at=timezone.now(),
    )


def deactivate(endpoint: WebhookEndpoint, reason: str) -> None:
    """Deactivate inside the caller's transaction (API update, 410, 5 days of failures)."""
    endpoint.is_active = False
    endpoint.deactivated_at = timezone.now()
    endpoint.deactivation_reason = reason[:255]
    endpoint.save(
        update_fields=["is_active", "deactivated_at", "deactivation_reason", "updated_at"]
    )
    _fail_pending(endpoint, reason)


@transaction.atomic
def update_endpoint(
    *, tenant: Tenant, endpoint_id: str | int, changes: dict[str, Any]
) -> WebhookEndpoint:
    """Apply the fields present in ``changes``; the password follows the secret rules
    (absent or ``********`` keeps it, null clears it)."""
    endpoint = _locked(tenant, endpoint_id)
    was_active = endpoint.is_active
    for name in _UPDATABLE:
        if name not in changes:
            continue
        value = changes[name]
        if name == "basic_auth_password":
            value = keep_or_replace(endpoint.basic_auth_password, value, given=True) or None
        elif name == "basic_auth_username":
            value = value or None
        elif name in {"is_active", "send_original_payload"} and value is None:
            raise Invalid.one(name, "must be true or false")
        elif name in {"type", "url"} and value is None:
            raise Invalid.one(name, "must not be null")
        setattr(endpoint, name, value)
    _validate(endpoint)
    if was_active and not endpoint.is_active:
        endpoint.save()
        deactivate(endpoint, "deactivated through the API")
    else:
        if endpoint.is_active and not was_active:
            endpoint.failing_since = None
            endpoint.deactivated_at = None
            endpoint.deactivation_reason = ""
        endpoint.save()
    return endpoint


@transaction.atomic
def delete_endpoint(*, tenant: Tenant, endpoint_id: str | int) -> WebhookEndpoint:
    """Delete the endpoint and its log (one DELETE for the log: no per-row cascade)."""
    endpoint = selectors.get_endpoint(tenant, endpoint_id)
    snapshot = WebhookEndpoint(**{
        f.attname: getattr(endpoint, f.attname) for f in WebhookEndpoint._meta.concrete_fields
    })
    WebhookInteraction.objects.filter(endpoint=endpoint).delete()
    endpoint.delete()
    return snapshot


@transaction.atomic
def rotate_secret(*, tenant: Tenant, endpoint_id: str | int) -> tuple[WebhookEndpoint, str]:
    """New signing secret; the old one co-signs for ``ROTATION_GRACE`` so receivers can switch."""
    endpoint = _locked(tenant, endpoint_id)
    secret = generate_secret()
    endpoint.previous_signing_secret = endpoint.signing_secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    endpoint.signing_secret = secret
    endpoint.save()
    return endpoint, secret


def _checked(events: Iterable[WebhookEvent]) -> list[WebhookEvent]:
    """Only the typed events of ``webhooks.events`` that go to an endpoint type."""
    checked = list(events)
    for event in checked:
        if not isinstance(event, WebhookEvent):
            raise TypeError(
                f"emit takes webhooks.events classes, not {type(event).__name__}"
            )
        if event.ENDPOINT_TYPE is None:
            raise TypeError(f"{type(event).__name__} is sent to one endpoint, not emitted")
    return checked


def emit(*, tenant: Tenant, event: WebhookEvent) -> int:
    """Queue ``event`` for every active endpoint of its type, in the caller's transaction.

    Returns the number of interactions created (0 when nobody listens). Delivery happens
    in the drainer after commit; a rollback removes rows and drainer jobs alike.
    """
    return emit_many(tenant=tenant, events=[event])


def emit_many(*, tenant: Tenant, events: Iterable[WebhookEvent]) -> int:
    """``emit`` for a batch of events (e.g. a drained batch of sent messages), of one kind or
    several: the same handful of queries whatever the number of events and endpoints.

    The events are checked before any query, so a wrong argument (``TypeError``) leaves the
    caller's transaction usable.
    """
    batch = _checked(events)
    if not batch:
        return 0
    with transaction.atomic(savepoint=False):
        return _queue(tenant, batch)


def _queue(tenant: Tenant, batch: list[WebhookEvent]) -> int:
    types = {event.ENDPOINT_TYPE for event in batch}
    listeners: dict[str, list[tuple[int, bool]]] = {}
    for endpoint_id, endpoint_type, include_original in (
        WebhookEndpoint.objects.filter(tenant=tenant, type__in=types, is_active=True)
        .order_by("id")
        .values_list("id", "type", "send_original_payload")
    ):
        listeners.setdefault(endpoint_type, []).append((endpoint_id, include_original))
    if not listeners:
        return 0
    now = timezone.now()
    rows: list[WebhookInteraction] = []
    for event in batch:
        endpoints = listeners.get(event.ENDPOINT_TYPE or "")
        if not endpoints:
            continue
        plain, with_original, full = event.bodies()
        process_id = event.process_id_value
        event_id = new_event_id()
        rows.extend(
            WebhookInteraction(
                tenant=tenant,
                endpoint_id=endpoint_id,
                event=event.EVENT,
                event_id=event_id,
                process_id=process_id,
                status=InteractionStatus.PENDING,
                next_attempt_at=now,
                sent_payload=with_original if include_original else plain,
                transaction_payload=full,
            )
            for endpoint_id, include_original in endpoints
        )
    WebhookInteraction.objects.bulk_create(rows, batch_size=1000)
    defer_drainers(
        endpoint_id for endpoints in listeners.values() for endpoint_id, _ in endpoints
    )
    return len(rows)


@transaction.atomic
def send_test(*, tenant: Tenant, endpoint_id: str | int) -> WebhookInteraction:
    """A ``ping`` event to this endpoint only (even an inactive one: that is how you test it)."""
    endpoint = selectors.get_endpoint(tenant, endpoint_id)
    now = timezone.now()
    ping = Ping(
        endpoint_id=str(endpoint.id),
        endpoint_type=endpoint.type,
        original_tenant_slug=tenant.slug,
        timestamp=now,
    )
    data = ping.data()
    interaction = WebhookInteraction.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=ping.EVENT,
        event_id=new_event_id(),
        status=InteractionStatus.PENDING,
        next_attempt_at=now,
        sent_payload=data,
        transaction_payload=data,
    )
    defer_drainers([endpoint.id])
    return interaction


@transaction.atomic
def resend(
    *, tenant: Tenant, endpoint_id: str | int, interaction_id: str | int
) -> WebhookInteraction:
    """A new delivery of a logged event with the same ``webhook-id`` (receivers may dedupe)."""
    endpoint = selectors.get_endpoint(tenant, endpoint_id)
    original = selectors.get_interaction(endpoint, interaction_id)
    if not endpoint.is_active:
        raise Conflict("The webhook endpoint is inactive; activate it before resending")
    interaction = WebhookInteraction.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=original.event,
        event_id=original.event_id,
        process_id=original.process_id,
        status=InteractionStatus.PENDING,
        next_attempt_at=timezone.now(),
        sent_payload=original.sent_payload,
        transaction_payload=original.transaction_payload,
    )
    defer_drainers([endpoint.id])
    return interaction


# --- housekeeping (periodic tasks) -------------------------------------------------------


def purge_expired_interactions(*, batch_size: int = 5000, max_batches: int = 200) -> int:
    """Delete finished interactions older than their tenant's storage duration.

    Tenant by tenant (so the ``(tenant, created_at)`` index serves the scan), in bounded
    batches, each its own short transaction: the purge never holds long locks or writes one
    huge WAL record, and whatever is left over is picked up by the next run. Unfinished rows
    are kept until they finish, so a retry schedule longer than the retention period cannot
    lose a delivery.
    """
    now = timezone.now()
    total, budget = 0, BatchBudget(max_batches)
    tenants = Tenant.objects.order_by("id").values_list(
        "id", "webhook_interaction_storage_duration_in_days"
    )
    for tenant_id, days in tenants:
        expired = WebhookInteraction.objects.filter(
            tenant_id=tenant_id,
            created_at__lt=now - timedelta(days=days),
            status__in=TERMINAL_STATUSES,
        )
        total += delete_in_batches(
            expired.order_by("created_at"), batch_size=batch_size, budget=budget
        )
    return total
