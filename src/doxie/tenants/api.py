"""Admin API: API users (A17–A19) and tenant configuration (A20–A21)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from doxie.core.auth import ADMIN_READ, ADMIN_WRITE
from doxie.core.envelopes import admin_ok
from doxie.core.pagination import PageParams, paginate
from doxie.core.schemas import TenantSlug, admin_envelope, admin_responses
from doxie.tenants import selectors, services
from doxie.tenants.schemas import (
    ApiUserCreate,
    ApiUserList,
    ApiUserOut,
    TenantOut,
    TenantUpdate,
)

router = Router(tags=["Admin: API users and tenant"])

ApiUserEnvelope = admin_envelope(ApiUserOut, "ApiUserEnvelope")
ApiUserListEnvelope = admin_envelope(ApiUserList, "ApiUserListEnvelope")
TenantEnvelope = admin_envelope(TenantOut, "TenantEnvelope")


def _api_user(u) -> dict:
    return ApiUserOut.model_validate(u, from_attributes=True).model_dump()


def _tenant(t) -> dict:
    return TenantOut.model_validate(t, from_attributes=True).model_dump()


@router.get(
    "/api_users",
    auth=ADMIN_READ,
    response=admin_responses({200: ApiUserListEnvelope}),
    summary="List API users",
    description="API users authenticate the public API (HTTP Basic). Requires read permission.",
)
def list_api_users(request: HttpRequest, tenant: TenantSlug, params: Query[PageParams]):
    items, pagination = paginate(selectors.api_users(request.auth.tenant), params)
    return admin_ok({"api_users": [_api_user(u) for u in items], "pagination": pagination})


@router.post(
    "/api_users",
    auth=ADMIN_WRITE,
    response=admin_responses({201: ApiUserEnvelope}, 409),
    summary="Create API user",
    description="Password policy: at least 12 characters with upper- and lower-case letters, "
    "a digit and a symbol; the confirmation must match. Usernames are unique per tenant "
    "(409 on duplicate). Requires write permission.",
)
def create_api_user(request: HttpRequest, tenant: TenantSlug, payload: ApiUserCreate):
    fields = payload.api_user
    api_user = services.create_api_user(
        tenant=request.auth.tenant,
        username=fields.username,
        password=fields.password,
        password_confirmation=fields.password_confirmation,
    )
    return 201, admin_ok(_api_user(api_user), "created", request)


@router.delete(
    "/api_users/{id:api_user_id}",
    auth=ADMIN_WRITE,
    response=admin_responses({200: ApiUserEnvelope}),
    summary="Delete API user",
)
def delete_api_user(request: HttpRequest, tenant: TenantSlug, api_user_id: int):
    deleted = services.delete_api_user(tenant=request.auth.tenant, api_user_id=api_user_id)
    return admin_ok(_api_user(deleted), "api_user_deleted", request)


@router.get(
    "/tenant",
    auth=ADMIN_READ,
    response=admin_responses({200: TenantEnvelope}),
    summary="Show tenant config",
)
def show_tenant(request: HttpRequest, tenant: TenantSlug):
    return admin_ok(_tenant(request.auth.tenant))


@router.patch(
    "/tenant",
    auth=ADMIN_WRITE,
    response=admin_responses({200: TenantEnvelope}),
    summary="Update tenant config",
    description="Only `webhook_interaction_storage_duration_in_days` (1–3650) can be changed.",
)
def update_tenant(request: HttpRequest, tenant: TenantSlug, payload: TenantUpdate):
    updated = services.update_tenant(
        tenant=request.auth.tenant,
        webhook_interaction_storage_duration_in_days=(
            payload.tenant_params.webhook_interaction_storage_duration_in_days
        ),
    )
    return admin_ok(_tenant(updated), "tenant_updated", request)
