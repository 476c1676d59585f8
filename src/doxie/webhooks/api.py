"""Admin API: webhook endpoints (A23–A27) plus secret rotation, test pings and resends."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from doxie.core.auth import ADMIN_READ, ADMIN_WRITE
from doxie.core.crypto import mask
from doxie.core.envelopes import admin_ok
from doxie.core.pagination import PageParams, paginate
from doxie.core.schemas import TenantSlug, admin_envelope, admin_responses
from doxie.webhooks import selectors, services
from doxie.webhooks.models import WebhookEndpoint, WebhookInteraction
from doxie.webhooks.schemas import (
    EndpointCreate,
    EndpointDetailOut,
    EndpointList,
    EndpointListParams,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecretOut,
    InteractionOut,
)

router = Router(tags=["Admin: Webhook endpoints"])

EndpointEnvelope = admin_envelope(EndpointOut, "WebhookEndpointEnvelope")
EndpointSecretEnvelope = admin_envelope(EndpointWithSecretOut, "WebhookEndpointSecretEnvelope")
EndpointListEnvelope = admin_envelope(EndpointList, "WebhookEndpointListEnvelope")
EndpointDetailEnvelope = admin_envelope(EndpointDetailOut, "WebhookEndpointDetailEnvelope")
InteractionEnvelope = admin_envelope(InteractionOut, "WebhookInteractionEnvelope")

_SIGNING = (
    "Every notification is a POST with `Content-Type: application/json`, HTTP Basic when "
    "credentials are set, `Doxie-Event: <event name>` and the Standard Webhooks headers "
    "`webhook-id` (stable across retries), `webhook-timestamp` and `webhook-signature` "
    "(`v1,<base64 HMAC-SHA256 of id.timestamp.body>` keyed with the base64 part of the "
    "`whsec_` secret). Failed deliveries are retried after 5 s, 5 min, 30 min, 2 h, 5 h, "
    "10 h and 10 h (±20 %); 2xx is success, redirects are not followed, 410 deactivates "
    "the endpoint, and so do 5 days of nothing but failures."
)


def _endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.id),
        "type": endpoint.type,
        "url": endpoint.url,
        "basic_auth_username": endpoint.basic_auth_username,
        "basic_auth_password": mask(endpoint.basic_auth_password),
        "is_active": endpoint.is_active,
        "send_original_payload": endpoint.send_original_payload,
        "deactivation_reason": endpoint.deactivation_reason or None,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def _interaction(i: WebhookInteraction) -> dict[str, Any]:
    return {
        "id": str(i.id),
        "created_at": i.created_at,
        "process_id": i.process_id,
        "requested_method": i.requested_method,
        "response_code": i.response_code,
        "retry_count": i.retry_count,
        "sent_payload": i.sent_payload,
        "transaction_payload": i.transaction_payload,
        "response_payload": i.response_payload,
        "event": i.event,
        "webhook_id": i.event_id,
        "status": i.status,
        "duration_ms": i.duration_ms,
        "error": i.error or None,
        "next_attempt_at": i.next_attempt_at,
        "attempts": i.attempts,
    }


@router.get(
    "/webhook_endpoints",
    auth=ADMIN_READ,
    response=admin_responses({200: EndpointListEnvelope}),
    summary="List webhook endpoints",
    description="Only active endpoints unless `show_inactive=true`. Requires read permission.",
)
def list_endpoints(request: HttpRequest, tenant: TenantSlug, params: Query[EndpointListParams]):
    queryset = selectors.endpoints(request.auth.tenant, show_inactive=params.show_inactive)
    items, pagination = paginate(queryset, params)
    return admin_ok({"endpoints": [_endpoint(e) for e in items], "pagination": pagination})


@router.post(
    "/webhook_endpoints",
    auth=ADMIN_WRITE,
    response=admin_responses({201: EndpointSecretEnvelope}),
    summary="Create webhook endpoint",
    description="`type` picks the notification the endpoint receives; `url` is required. "
    "The response carries the endpoint's `signing_secret` — the only time it is shown "
    "(rotate it with `POST /webhook_endpoints/{endpoint_id}/rotate_secret`). "
    + _SIGNING + " Requires write permission.",
)
def create_endpoint(request: HttpRequest, tenant: TenantSlug, payload: EndpointCreate):
    fields = payload.webhook_abstract_endpoint
    endpoint, secret = services.create_endpoint(tenant=request.auth.tenant, **fields.model_dump())
    return 201, admin_ok({**_endpoint(endpoint), "signing_secret": secret}, "webhook_created",
                         request)


@router.get(
    "/webhook_endpoints/{key:endpoint_id}",
    auth=ADMIN_READ,
    response=admin_responses({200: EndpointDetailEnvelope}),
    summary="Show webhook endpoint and its interactions",
    description="`limit`/`page` paginate the interactions, newest first. Each interaction "
    "shows its latest attempt and, in `attempts`, every try. Interactions are deleted after "
    "the tenant's `webhook_interaction_storage_duration_in_days`. Requires read permission.",
)
def show_endpoint(
    request: HttpRequest, tenant: TenantSlug, endpoint_id: str, params: Query[PageParams]
):
    endpoint = selectors.get_endpoint(request.auth.tenant, endpoint_id)
    items, pagination = paginate(selectors.interactions(endpoint), params)
    return admin_ok({
        **_endpoint(endpoint),
        "interactions": {"list": [_interaction(i) for i in items], "pagination": pagination},
    })


@router.api_operation(
    ["PATCH", "PUT"],
    "/webhook_endpoints/{key:endpoint_id}",
    auth=ADMIN_WRITE,
    response=admin_responses({200: EndpointEnvelope}),
    summary="Update webhook endpoint",
    description="Changes only the fields sent (PUT behaves like PATCH). "
    "`basic_auth_password`: `********` keeps it, null clears it. Deactivating an endpoint "
    "fails its pending deliveries; reactivating clears the failure record. "
    "Requires write permission.",
)
def update_endpoint(
    request: HttpRequest, tenant: TenantSlug, endpoint_id: str, payload: EndpointUpdate
):
    changes = payload.webhook_abstract_endpoint.model_dump(exclude_unset=True)
    endpoint = services.update_endpoint(
        tenant=request.auth.tenant, endpoint_id=endpoint_id, changes=changes
    )
    return admin_ok(_endpoint(endpoint), "webhook_updated", request)


@router.delete(
    "/webhook_endpoints/{key:endpoint_id}",
    auth=ADMIN_WRITE,
    response=admin_responses({200: EndpointEnvelope}),
    summary="Delete webhook endpoint",
    description="Deletes the endpoint and its interaction log. Requires write permission.",
)
def delete_endpoint(request: HttpRequest, tenant: TenantSlug, endpoint_id: str):
    deleted = services.delete_endpoint(tenant=request.auth.tenant, endpoint_id=endpoint_id)
    return admin_ok(_endpoint(deleted), "webhook_deleted", request)


@router.post(
    "/webhook_endpoints/{key:endpoint_id}/rotate_secret",
    auth=ADMIN_WRITE,
    response=admin_responses({200: EndpointSecretEnvelope}),
    summary="Rotate the signing secret",
    description="(Beyond the seed.) Returns the new `signing_secret` once. For 24 hours "
    "notifications carry two signatures (new and old secret) in `webhook-signature`, so "
    "receivers can switch without rejecting deliveries. Requires write permission.",
)
def rotate_secret(request: HttpRequest, tenant: TenantSlug, endpoint_id: str):
    endpoint, secret = services.rotate_secret(tenant=request.auth.tenant, endpoint_id=endpoint_id)
    return admin_ok({**_endpoint(endpoint), "signing_secret": secret}, "webhook_updated",
                    request)


@router.post(
    "/webhook_endpoints/{key:endpoint_id}/test",
    auth=ADMIN_WRITE,
    response=admin_responses({200: InteractionEnvelope}),
    summary="Send a test event",
    description="(Beyond the seed.) Queues a `ping` event (`Doxie-Event: ping`, body "
    "`{event, endpoint_id, endpoint_type, original_tenant_slug, timestamp}`) to this "
    "endpoint only, signed like every notification; works for inactive endpoints too "
    "(one attempt, no retries). The result appears in the endpoint's interactions. "
    "Requires write permission.",
)
def test_endpoint(request: HttpRequest, tenant: TenantSlug, endpoint_id: str):
    interaction = services.send_test(tenant=request.auth.tenant, endpoint_id=endpoint_id)
    return admin_ok(_interaction(interaction))


@router.post(
    "/webhook_endpoints/{key:endpoint_id}/interactions/{key:interaction_id}/resend",
    auth=ADMIN_WRITE,
    response=admin_responses({200: InteractionEnvelope}, 409),
    summary="Resend an interaction",
    description="(Beyond the seed.) Queues a new delivery of the logged event with the same "
    "body and the same `webhook-id`, so receivers that deduplicate on it can. "
    "409 when the endpoint is inactive. Requires write permission.",
)
def resend_interaction(
    request: HttpRequest, tenant: TenantSlug, endpoint_id: str, interaction_id: str
):
    interaction = services.resend(
        tenant=request.auth.tenant, endpoint_id=endpoint_id, interaction_id=interaction_id
    )
    return admin_ok(_interaction(interaction))
