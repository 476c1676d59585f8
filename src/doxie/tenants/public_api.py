"""Public API helpers that are not in the seed: a credentials check for integrators."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from doxie.core.auth import API_USER
from doxie.core.envelopes import public_ok
from doxie.core.schemas import TenantSlug, public_envelope, public_responses

router = Router(tags=["Public API: credentials"])


class WhoAmI(Schema):
    tenant: str
    username: str


WhoAmIEnvelope = public_envelope(WhoAmI, "WhoAmIEnvelope")


@router.get(
    "/whoami",
    auth=API_USER,
    response=public_responses({200: WhoAmIEnvelope}),
    summary="Check API user credentials",
    description="Answers which tenant and API user the HTTP Basic credentials belong to. "
    "Useful to verify an integration's configuration; sends nothing.",
)
def whoami(request: HttpRequest, tenant: TenantSlug):
    principal = request.auth
    return public_ok({"tenant": principal.tenant.slug, "username": principal.api_user.username})
