"""Consent operations: P1/P2 on the public API, data-subject access and erasure on the admin
API. Thin: parse, call a service or selector, wrap the envelope."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from doxie.consents import lifecycle, selectors, services
from doxie.consents.models import Consent, ConsentLedgerEntry
from doxie.consents.schemas import (
    ConsentOut,
    ContactConsentsOut,
    ErasureOut,
    InitiateIn,
    RevokeEnvelope,
    RevokeIn,
)
from doxie.core.auth import ADMIN_READ, ADMIN_WRITE, API_USER
from doxie.core.envelopes import admin_ok, public_ok
from doxie.core.net import client_ip
from doxie.core.schemas import (
    TenantSlug,
    admin_envelope,
    admin_responses,
    public_envelope,
    public_responses,
)

router = Router(tags=["Public API: consents"])
admin_router = Router(tags=["Admin: contacts and consents"])

InitiateEnvelope = public_envelope(ConsentOut, "ConsentInitiateEnvelope")
ContactConsentsEnvelope = admin_envelope(ContactConsentsOut, "ContactConsentsEnvelope")
ErasureEnvelope = admin_envelope(ErasureOut, "ContactErasureEnvelope")


def _consent_out(consent: Consent, customer_id: str) -> dict:
    return {
        "customer_id": customer_id,
        "consent_slug": consent.purpose.slug,
        "contact_channel": consent.channel_value,
        "process_uuid": str(consent.process.uuid) if consent.process else None,
    }


def _ledger_out(entry: ConsentLedgerEntry) -> dict:
    return {
        "seq": entry.seq, "kind": entry.kind, "occurred_at": entry.occurred_at,
        "actor": entry.actor, "ip": entry.ip or None, "user_agent": entry.user_agent,
        "channel": entry.channel, "channel_value_hash": entry.channel_value_hash,
        "shown_text": entry.shown_text, "data": entry.data, "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


@router.post(
    "/mpm/consents/initiate",
    auth=API_USER,
    response=public_responses({200: InitiateEnvelope}),
    summary="Initiate consent",
    description=(
        "Initiate consent for a contact. Initiates a new consent if the contact is known or "
        "creates a new contact.\n\n"
        "Exactly one of `email` / `phone` (E.164 with leading `+`) is required (422 for "
        "both, neither, an invalid address or number). An unknown `consent_slug` is 404. A "
        "double opt-in message with a confirmation link goes out on that channel; "
        "`process_uuid` identifies it and is the `identifier` of the later "
        "`doi_confirmation` webhook. Repeating the call for a pending consent re-sends the "
        "message with a new link (the old link stops working), at most once per the "
        "purpose's re-send interval per contact (429 with `Retry-After` otherwise); for a "
        "confirmed consent it answers success and sends nothing."
    ),
)
def initiate(request: HttpRequest, tenant: TenantSlug, payload: InitiateIn):
    principal = request.auth
    result = services.initiate(
        tenant=principal.tenant,
        customer_id=payload.customer_id,
        consent_slug=payload.consent_slug,
        email=payload.email,
        phone=payload.phone,
        actor=services.Actor(
            f"api_user:{principal.api_user.username}",
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        ),
    )
    data = _consent_out(result.consent, result.consent.contact.customer_id)
    return public_ok(data, process_uuid=result.process_uuid)


@router.post(
    "/mpm/consents/revoke",
    auth=API_USER,
    response=public_responses({200: RevokeEnvelope}),
    summary="Revoke consent",
    description=(
        "Revokes one or all consents for a contact. With `revoke_all: true` every active "
        "(pending or confirmed) consent of the contact is revoked and `consent_slug` is "
        "ignored; otherwise `consent_slug` is required (422). Unknown contact or consent "
        "purpose: 404. Answers the consents revoked by this call (an empty list when none "
        "was active). Pending consents' confirmation links stop working. Each revocation is "
        "recorded in the consent ledger. As in the seed, this envelope has no "
        "`process_uuid`."
    ),
)
def revoke(request: HttpRequest, tenant: TenantSlug, payload: RevokeIn):
    principal = request.auth
    customer_id = payload.customer_id.strip()
    consents = services.revoke(
        tenant=principal.tenant,
        customer_id=customer_id,
        consent_slug=payload.consent_slug,
        revoke_all=payload.revoke_all,
        actor=services.Actor(
            f"api_user:{principal.api_user.username}",
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        ),
    )
    return {
        "success": True,
        "error_message": None,
        "data": {"revoked_consents": [_consent_out(c, customer_id) for c in consents]},
    }


@admin_router.get(
    "/contacts/{text:customer_id}/consents",
    auth=ADMIN_READ,
    response=admin_responses({200: ContactConsentsEnvelope}),
    summary="Show a contact's consents with their ledger",
    description=(
        "Data-subject access: every consent of the contact (any status) with its consent "
        "ledger entries (time, actor, IP, user agent, the text the person was shown — "
        "confirmation links redacted — and the hash chain fields), plus contact-level "
        "entries such as an erasure. Email addresses and phone numbers appear in the ledger "
        "only as hashes. Requires read permission."
    ),
)
def contact_consents(request: HttpRequest, tenant: TenantSlug, customer_id: str):
    record = selectors.contact_record(request.auth.tenant, customer_id)
    contact = record.contact
    consents = []
    for consent in record.consents:
        consents.append({
            "id": consent.id,
            "consent_slug": consent.purpose.slug,
            "purpose_name": consent.purpose.name,
            "channel": consent.channel,
            "contact_channel": consent.channel_value,
            "status": consent.status,
            "process_uuid": str(consent.process.uuid) if consent.process else None,
            "created_at": consent.created_at,
            "expires_at": consent.expires_at,
            "confirmed_at": consent.confirmed_at,
            "confirmed_ip": consent.confirmed_ip,
            "confirmed_user_agent": consent.confirmed_user_agent,
            "revoked_at": consent.revoked_at,
            "ledger": [_ledger_out(e) for e in record.ledger_by_consent.get(consent.id, [])],
        })
    return admin_ok({
        "customer_id": contact.customer_id,
        "email": contact.email or None,
        "phone": contact.phone or None,
        "created_at": contact.created_at,
        "erased_at": contact.erased_at,
        "consents": consents,
        "ledger": [_ledger_out(e) for e in record.contact_ledger],
    })


@admin_router.post(
    "/contacts/{text:customer_id}/erase",
    auth=ADMIN_WRITE,
    response=admin_responses({200: ErasureEnvelope}),
    summary="Erase a contact (pseudonymize)",
    description=(
        "Right to erasure: the contact's customer id, email and phone and its consents' "
        "channel values are replaced by pseudonyms/hashes, active consents are revoked, and "
        "an `erased` entry is appended to the consent ledger. The ledger itself keeps its "
        "entries (it never held raw addresses) and still verifies. The contact is then found "
        "under `pseudonym` only. Requires write permission."
    ),
)
def erase_contact(request: HttpRequest, tenant: TenantSlug, customer_id: str):
    principal = request.auth
    username = getattr(principal.user, "username", "") or str(principal.user.pk)
    result = lifecycle.erase_contact(
        tenant=principal.tenant,
        customer_id=customer_id,
        actor=services.Actor(
            f"admin:{username}",
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        ),
    )
    return admin_ok(
        {
            "customer_id": customer_id,
            "pseudonym": result.contact.customer_id,
            "erased_at": result.contact.erased_at,
            "consents": result.consents,
            "revoked_consents": len(result.revoked),
        },
        "deleted",
        request,
    )
