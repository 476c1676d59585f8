"""Reads for consents; the tenant is always the first argument."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from doxie.consents import normalize
from doxie.consents.models import (
    Consent,
    ConsentLedgerEntry,
    ConsentPurpose,
    ConsentStatus,
    Contact,
)
from doxie.core.errors import NotFound
from doxie.tenants.models import Tenant


def get_purpose(tenant: Tenant, slug: str) -> ConsentPurpose:
    purpose = (
        ConsentPurpose.objects.select_related("brand").filter(tenant=tenant, slug=slug).first()
    )
    if purpose is None:
        raise NotFound(f"Consent purpose '{slug}' not found")
    return purpose


def get_contact(tenant: Tenant, customer_id: str) -> Contact:
    contact = Contact.objects.filter(tenant=tenant, customer_id=customer_id).first()
    if contact is None:
        raise NotFound("Contact not found")
    return contact


def confirmed_channel_values(tenant: Tenant, consent_slug: str, values: list[str]) -> set[str]:
    """Which of ``values`` (emails / phone numbers as given) hold a confirmed consent.

    The Mailer's gate for events that require a consent: one indexed query whatever the
    number of recipients. Values are compared in normal form (``normalize``), and the
    answer contains the caller's original strings, so it can be used as a filter directly.
    Revoked, expired and still-pending consents do not count; erased contacts have only
    revoked consents.
    """
    by_normal: dict[str, list[str]] = {}
    for value in values:
        normal = normalize.any_value(value)
        if normal is not None:
            by_normal.setdefault(normal, []).append(value)
    if not by_normal or not consent_slug:
        return set()
    confirmed = Consent.objects.filter(
        tenant=tenant,
        purpose__slug=consent_slug,
        status=ConsentStatus.CONFIRMED,
        revoked_at__isnull=True,
        channel_value__in=list(by_normal),
    ).values_list("channel_value", flat=True)
    return {original for normal in confirmed for original in by_normal.get(normal, [])}


def consent_for_token(token: str) -> Consent | None:
    """The consent a confirmation link belongs to (any tenant: the token is global)."""
    if not token or len(token) > 128:
        return None
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return (
        Consent.objects.select_related(
            "purpose", "purpose__brand", "purpose__brand__style", "contact", "process", "tenant"
        )
        .filter(token_hash=digest)
        .first()
    )


@dataclass
class ContactRecord:
    """A contact's consents with their ledger entries (data-subject access)."""

    contact: Contact
    consents: list[Consent]
    ledger_by_consent: dict[int, list[ConsentLedgerEntry]] = field(default_factory=dict)
    contact_ledger: list[ConsentLedgerEntry] = field(default_factory=list)


def contact_record(tenant: Tenant, customer_id: str) -> ContactRecord:
    contact = get_contact(tenant, customer_id)
    consents = list(
        Consent.objects.filter(tenant=tenant, contact=contact)
        .select_related("purpose", "process")
        .order_by("id")
    )
    record = ContactRecord(contact=contact, consents=consents)
    entries = ConsentLedgerEntry.objects.filter(tenant=tenant, contact=contact).order_by("seq")
    for item in entries:
        if item.consent_id is None:
            record.contact_ledger.append(item)
        else:
            record.ledger_by_consent.setdefault(item.consent_id, []).append(item)
    return record


def describe_process_consents(process: Any) -> list[dict[str, Any]]:
    """The process view's ``consents``: each consent of the (consent) process with its steps
    from the ledger (requested, message sent — again on each re-send —, confirmed, revoked,
    expired), oldest first. Two queries however many steps."""
    steps = Prefetch(
        "ledger",
        queryset=ConsentLedgerEntry.objects.order_by("seq").only(
            "consent_id", "seq", "kind", "occurred_at", "actor", "data"
        ),
    )
    consents = (
        Consent.objects.filter(tenant_id=process.tenant_id, process_id=process.pk)
        .select_related("purpose")
        .order_by("id")
        .prefetch_related(steps)
    )
    return [
        {
            "consent_slug": c.purpose.slug,
            "channel": c.channel,
            "status": c.status,
            "created_at": c.created_at,
            "expires_at": c.expires_at,
            "confirmed_at": c.confirmed_at,
            "revoked_at": c.revoked_at,
            "steps": [
                {"kind": e.kind, "occurred_at": e.occurred_at, "actor": e.actor,
                 "reason": (e.data or {}).get("reason")}
                for e in c.ledger.all()
            ],
        }
        for c in consents
    ]
