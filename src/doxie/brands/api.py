"""Admin API: brands (A1–A5) and their provider set-up operations (A6–A16).

Thin views: parse, call a service or selector, wrap the envelope. Provider calls are async
adapters run through ``async_to_sync`` inside the set-up services.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router

from doxie.brands import provider_setup, selectors, services
from doxie.brands.schemas import (
    BrandList,
    BrandOut,
    BrandWrite,
    MailjetWebhooksOut,
    SesSetupOut,
    SevenWebhookOut,
    SmtpTestOut,
    brand_data,
)
from doxie.core.auth import ADMIN_READ, ADMIN_READ_WRITE, ADMIN_WRITE
from doxie.core.envelopes import admin_ok
from doxie.core.pagination import PageParams, paginate
from doxie.core.schemas import TenantSlug, admin_envelope, admin_responses

router = Router(tags=["Admin: brands"])

BrandEnvelope = admin_envelope(BrandOut, "BrandEnvelope")
BrandListEnvelope = admin_envelope(BrandList, "BrandListEnvelope")
MailjetWebhooksEnvelope = admin_envelope(MailjetWebhooksOut, "MailjetWebhooksEnvelope")
SevenWebhookEnvelope = admin_envelope(SevenWebhookOut, "SevenWebhookEnvelope")
SesSetupEnvelope = admin_envelope(SesSetupOut, "SesSetupEnvelope")
SmtpTestEnvelope = admin_envelope(SmtpTestOut, "SmtpTestEnvelope")

BrandId = Annotated[int, Path(description="The brand ID", examples=[1])]

_UPDATE_RULES = (
    "Rails semantics: omitted keys keep their values (PATCH and PUT behave the same). "
    "`*_attributes` create the provider record the first time and update the same record "
    "(same id) afterwards; `\"_destroy\": true` removes it. Secrets sent as `********` keep "
    "the stored value; null clears them. The chosen `mail_provider` needs its credentials. "
    "Duplicate slug: 409. Invalid fields: 422 with `details` such as "
    "`brand.smtp_config_attributes.port`."
)
_PROVIDER_ERRORS = (
    " Provider failures answer `success: false` with the provider's reason: 502 when the "
    "provider refused (e.g. wrong credentials), 503 with `Retry-After` when it is unreachable "
    "or throttling. A brand without the needed credentials: 422."
)


def _brand(brand: Any) -> dict[str, Any]:
    return brand_data(brand)


# --- A1–A5: brands --------------------------------------------------------------------------


@router.get(
    "/brands",
    auth=ADMIN_READ,
    response=admin_responses({200: BrandListEnvelope}),
    summary="List brands",
    description="Brands of the tenant with their provider records and style, secrets masked "
    "(`********`, null when unset), ordered by id. Requires read permission.",
)
def list_brands(request: HttpRequest, tenant: TenantSlug, params: Query[PageParams]):
    items, pagination = paginate(selectors.brands(request.auth.tenant), params)
    return admin_ok({"brands": [_brand(b) for b in items], "pagination": pagination})


@router.post(
    "/brands",
    auth=ADMIN_WRITE,
    response=admin_responses({201: BrandEnvelope}, 409),
    summary="Create brand",
    description="`name` and `slug` are required; the slug is unique per tenant (409). "
    + _UPDATE_RULES
    + " Requires write permission.",
)
def create_brand(request: HttpRequest, tenant: TenantSlug, payload: BrandWrite):
    brand = services.create_brand(
        tenant=request.auth.tenant, attributes=payload.brand.model_dump(exclude_unset=True)
    )
    return 201, admin_ok(_brand(brand), "created", request)


@router.get(
    "/brands/{id:id}",
    auth=ADMIN_READ,
    response=admin_responses({200: BrandEnvelope}),
    summary="Show brand",
    description="A brand of the tenant; another tenant's brand is a 404. Requires read "
    "permission.",
)
def show_brand(request: HttpRequest, tenant: TenantSlug, id: BrandId):
    return admin_ok(_brand(selectors.get_brand(request.auth.tenant, id)))


def _update(request: HttpRequest, brand_id: int, payload: BrandWrite) -> dict[str, Any]:
    brand = services.update_brand(
        tenant=request.auth.tenant,
        brand_id=brand_id,
        attributes=payload.brand.model_dump(exclude_unset=True),
    )
    return admin_ok(_brand(brand), "updated", request)


@router.patch(
    "/brands/{id:id}",
    auth=ADMIN_WRITE,
    response=admin_responses({200: BrandEnvelope}, 409),
    summary="Update brand",
    description=_UPDATE_RULES + " Requires write permission.",
)
def update_brand(request: HttpRequest, tenant: TenantSlug, id: BrandId, payload: BrandWrite):
    return _update(request, id, payload)


@router.put(
    "/brands/{id:id}",
    auth=ADMIN_WRITE,
    response=admin_responses({200: BrandEnvelope}, 409),
    summary="Update brand (PUT)",
    description="Same as PATCH (partial update). " + _UPDATE_RULES,
)
def replace_brand(request: HttpRequest, tenant: TenantSlug, id: BrandId, payload: BrandWrite):
    return _update(request, id, payload)


@router.delete(
    "/brands/{id:id}",
    auth=ADMIN_WRITE,
    response=admin_responses({200: BrandEnvelope}, 409),
    summary="Delete brand",
    description="Deletes the brand with its provider records and style and answers the "
    "deleted brand. A brand still used (by events, templates, layouts…) is not deleted: "
    "409 naming the records that use it. Requires write permission.",
)
def delete_brand(request: HttpRequest, tenant: TenantSlug, id: BrandId):
    deleted = services.delete_brand(tenant=request.auth.tenant, brand_id=id)
    return admin_ok(_brand(deleted), "deleted", request)


# --- A6–A8: Mailjet event webhooks ------------------------------------------------------------

_MAILJET = (
    " Our callback URL is the brand's `/hooks/mailjet/…` URL; event types: "
    + ", ".join(provider_setup.MAILJET_EVENT_TYPES)
    + ". Mailjet keeps one callback per event type and account."
)


@router.get(
    "/brands/{id:brand_id}/mailjet_webhooks",
    auth=ADMIN_READ,
    response=admin_responses({200: MailjetWebhooksEnvelope}, 502),
    summary="Mailjet webhooks status",
    description="Whether Mailjet event webhooks are registered for the brand and which event "
    "types are active. Requires read permission." + _MAILJET + _PROVIDER_ERRORS,
)
def mailjet_webhooks_status(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
    status = provider_setup.mailjet_webhook_status(tenant=request.auth.tenant, brand_id=brand_id)
    return admin_ok(asdict(status))


@router.post(
    "/brands/{id:brand_id}/mailjet_webhooks",
    auth=ADMIN_READ_WRITE,
    response=admin_responses({200: MailjetWebhooksEnvelope}, 502),
    summary="Register Mailjet webhooks",
    description="Registers every event type (idempotent: registering twice leaves the same "
    "state). Requires read and write permissions." + _MAILJET + _PROVIDER_ERRORS,
)
def register_mailjet_webhooks(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
    status = provider_setup.register_mailjet_webhooks(
        tenant=request.auth.tenant, brand_id=brand_id
    )
    return admin_ok(asdict(status), "updated", request)


@router.delete(
    "/brands/{id:brand_id}/mailjet_webhooks",
    auth=ADMIN_READ_WRITE,
    response=admin_responses({200: MailjetWebhooksEnvelope}, 502),
    summary="Delete Mailjet webhooks",
    description="Deletes the callbacks pointing at this brand; the account's other callbacks "
    "are left alone. Requires read and write permissions." + _PROVIDER_ERRORS,
)
def delete_mailjet_webhooks(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
    status = provider_setup.delete_mailjet_webhooks(
        tenant=request.auth.tenant, brand_id=brand_id
    )
    return admin_ok(asdict(status), "updated", request)


# --- A9–A14: seven.io RCS and SMS DLR hooks --------------------------------------------------

_SEVEN = {
    "rcs": (
        "RCS webhook",
        "RCS webhooks report the status of RCS messages and deliver recipients' replies "
        "(seven.io event type `rcs`, key `rcs_api_key`).",
    ),
    "sms": (
        "SMS DLR webhook",
        "SMS webhooks deliver delivery reports for SMS sent via seven.io (event type `dlr`, "
        "key `sms77_api_key`).",
    ),
}


def _seven_routes(channel: provider_setup.SevenChannel, segment: str) -> None:
    """The three operations per seven.io channel differ only in channel and wording."""
    title, about = _SEVEN[channel]
    path = f"/brands/{{id:brand_id}}/{segment}"
    responses = admin_responses({200: SevenWebhookEnvelope}, 502)

    def status(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
        result = provider_setup.seven_webhook_status(
            tenant=request.auth.tenant, brand_id=brand_id, channel=channel
        )
        return admin_ok(asdict(result))

    def register(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
        result = provider_setup.register_seven_webhook(
            tenant=request.auth.tenant, brand_id=brand_id, channel=channel
        )
        return admin_ok(asdict(result), "updated", request)

    def delete(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
        result = provider_setup.delete_seven_webhook(
            tenant=request.auth.tenant, brand_id=brand_id, channel=channel
        )
        return admin_ok(asdict(result), "updated", request)

    for view, verb in ((status, "status"), (register, "register"), (delete, "delete")):
        view.__name__ = f"{channel}_webhook_{verb}"
    router.get(
        path, auth=ADMIN_READ, response=responses, summary=f"{title} status",
        description=f"Whether the {title} is registered for the brand. {about} Requires read "
        "permission." + _PROVIDER_ERRORS,
    )(status)
    router.post(
        path, auth=ADMIN_READ_WRITE, response=responses, summary=f"Register {title}",
        description=f"Registers the {title} (idempotent). {about} Requires read and write "
        "permissions." + _PROVIDER_ERRORS,
    )(register)
    router.delete(
        path, auth=ADMIN_READ_WRITE, response=responses, summary=f"Delete {title}",
        description=f"Deletes the {title} registered for the brand (none registered is not "
        f"an error). {about} Requires read and write permissions." + _PROVIDER_ERRORS,
    )(delete)


_seven_routes("rcs", "rcs_webhook")
_seven_routes("sms", "sms_webhook")


# --- A15: SES set-up, A16: SMTP test ------------------------------------------------------------


@router.post(
    "/brands/{id:brand_id}/ses_setup",
    auth=ADMIN_WRITE,
    response=admin_responses({200: SesSetupEnvelope}, 502),
    summary="SES setup",
    description="Creates or updates the SES configuration set `doxie-{tenant}-{brand}`, the "
    "SNS topic and its policy, the HTTPS subscription to the brand's `/hooks/ses/…` URL and "
    "the event destination, then sends use that configuration set. Idempotent. Needs "
    "`DOXIE_PUBLIC_URL` to be https (else 422). Requires write permission." + _PROVIDER_ERRORS,
)
def ses_setup(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
    result = provider_setup.setup_ses_for_brand(tenant=request.auth.tenant, brand_id=brand_id)
    return admin_ok(
        {"brand_id": result.brand_id, "setup_success": result.setup_success}, "updated", request
    )


@router.post(
    "/brands/{id:brand_id}/smtp_test",
    auth=ADMIN_WRITE,
    response=admin_responses({200: SmtpTestEnvelope}),
    summary="SMTP connection test",
    description="Connects to the brand's SMTP server with exactly the settings a send uses "
    "(TLS or STARTTLS, AUTH) and reports the outcome with the settings (password "
    "`[REDACTED]`).\n\n"
    "* Connected and authenticated: 200, `success: true`, `connection_success: true`.\n"
    "* The server refused, failed TLS/AUTH or could not be reached: 200 with "
    "`success: false`, `connection_success: false` and the reason in `error` (the test "
    "ran; its result is negative).\n"
    "* No SMTP address configured, or an address the deployment may not contact: 422.\n\n"
    "Requires write permission.",
)
def smtp_test(request: HttpRequest, tenant: TenantSlug, brand_id: BrandId):
    result = provider_setup.run_smtp_test(tenant=request.auth.tenant, brand_id=brand_id)
    data = {
        "brand_id": result.brand_id,
        "connection_success": result.connection_success,
        "settings": result.settings,
    }
    if result.connection_success:
        return admin_ok(data, "updated", request)
    return {
        "success": False,
        "message": None,
        "error": f"SMTP connection failed: {result.error}",
        "data": data,
    }
