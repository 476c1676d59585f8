"""P6 (create a QR code) on the public API and the QR code reads on the admin API.
Thin: parse, call a service or selector, wrap the envelope."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Body, Path, Query, Router

from doxie.core.auth import ADMIN_READ, API_USER
from doxie.core.envelopes import admin_ok, public_ok
from doxie.core.pagination import paginate
from doxie.core.schemas import (
    TenantSlug,
    admin_envelope,
    admin_responses,
    public_envelope,
    public_responses,
)
from doxie.qrcodes import images, selectors, services
from doxie.qrcodes.models import QrCode
from doxie.qrcodes.schemas import QrCodeCreated, QrCodeList, QrCodeListParams, QrCodeOut

router = Router(tags=["Public API: QR codes"])
admin_router = Router(tags=["Admin: QR codes"])

CreateEnvelope = public_envelope(QrCodeCreated, "QrCodeCreateEnvelope")
CodeEnvelope = admin_envelope(QrCodeOut, "QrCodeEnvelope")
CodeListEnvelope = admin_envelope(QrCodeList, "QrCodeListEnvelope")

EventSlug = Annotated[str, Path(description="The event slug (an event of kind qr)",
                                examples=["flyer"], max_length=100)]
CodeUuid = Annotated[str, Path(description="The QR code's UUID",
                               examples=["123e4567-e89b-12d3-a456-426614174000"])]

_CREATE = (
    "Creates a QR code for a QR code event (`kind: qr`) and a process (kind `qr`) in one "
    "transaction.\n\n"
    "* The payload is a free-form JSON object, kept as the process's original payload (the "
    "`original_payload` of `qr_code_scanned`). The event's required parameters must be "
    "present and not empty (422 listing them).\n"
    "* `target_url` (absolute http/https URL, no spaces or control characters, at most "
    "2048 characters) overrides the event's default target; it is required when the event "
    "has none. `valid_until` (ISO 8601 with a time zone, in the future; `null` = never "
    "expires) overrides the event's `valid_for_days`.\n"
    "* Unknown event: 404. An event of another kind: 422.\n"
    "* `data` holds the seed's `uuid` and `valid_until` plus the code's public `url` (302 "
    "to the target while active, a 410 page or the event's `expired_url` afterwards; every "
    "GET is counted and reported by `qr_code_scanned`) and its `png_url` / `svg_url` "
    "images. P7 on the `process_uuid` cancels the code."
)


def _created(code: QrCode) -> dict[str, Any]:
    url = images.scan_url(str(code.uuid))
    return {"uuid": str(code.uuid), "valid_until": services.iso(code.valid_until),
            "url": url, "png_url": f"{url}.png", "svg_url": f"{url}.svg"}


def _code_out(code: QrCode) -> dict[str, Any]:
    url = images.scan_url(str(code.uuid))
    return {
        "uuid": str(code.uuid), "process_uuid": str(code.process.uuid),
        "event_slug": code.event.slug, "target_url": code.target_url,
        "expired_url": code.expired_url or None, "valid_until": code.valid_until,
        "status": services.status_of(code), "cancelled_at": code.cancelled_at,
        "created_at": code.created_at, "url": url, "png_url": f"{url}.png",
        "svg_url": f"{url}.svg",
        "scans": {"total": code.scans_total, "human": code.scans_human,
                  "bots": code.scans_bot, "first_scan_at": code.first_scan_at,
                  "last_scan_at": code.last_scan_at},
    }


@router.post(
    "/qr_codes/{key:event_slug}",
    auth=API_USER,
    response=public_responses({200: CreateEnvelope}),
    summary="Creates a QR code",
    description=_CREATE,
)
def create_code(
    request: HttpRequest,
    tenant: TenantSlug,
    event_slug: EventSlug,
    payload: Annotated[dict[str, Any], Body(
        description="QR code payload: free to choose; `target_url` and `valid_until` "
        "override the event's defaults.",
        examples=[{"campaign": "summer", "target_url": "https://example.com/angebot",
                   "valid_until": "2024-12-31T23:59:59Z"}],
    )],
):
    code = services.create_code(
        tenant=request.auth.tenant, event_slug=event_slug, payload=payload
    )
    return public_ok(_created(code), process_uuid=str(code.process.uuid))


@admin_router.get(
    "/qr_codes",
    auth=ADMIN_READ,
    response=admin_responses({200: CodeListEnvelope}),
    summary="List QR codes",
    description="The tenant's QR codes, newest first, optionally of one event, with their "
    "status and scan counts (maintained with every scan, not counted on read). Requires "
    "read permission.",
)
def list_codes(request: HttpRequest, tenant: TenantSlug, params: Query[QrCodeListParams]):
    items, pagination = paginate(selectors.codes(request.auth.tenant, params.event_slug),
                                 params)
    return admin_ok({"qr_codes": [_code_out(c) for c in items], "pagination": pagination})


@admin_router.get(
    "/qr_codes/{uid:code_uuid}",
    auth=ADMIN_READ,
    response=admin_responses({200: CodeEnvelope}),
    summary="Show QR code",
    description="One QR code: target, validity, status and scan counts (total, human, "
    "bots, first and last scan). Unknown, malformed or another tenant's UUID: 404. "
    "Requires read permission.",
)
def show_code(request: HttpRequest, tenant: TenantSlug, code_uuid: CodeUuid):
    return admin_ok(_code_out(selectors.get_code(request.auth.tenant, code_uuid)))
