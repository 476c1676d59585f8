"""Consent housekeeping: the expiry job and erasure (right to be forgotten).

Kept apart from ``services`` (the request-path use cases) because both work on many rows
at once and are run by a periodic job or an administrator, not by a contact or integrator.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from doxie.consents import ledger
from doxie.consents.models import (
    ACTIVE_STATUSES,
    Consent,
    ConsentStatus,
    Contact,
    LedgerKind,
)
from doxie.consents.services import Actor, expire_entry, revoke_entries
from doxie.core.errors import NotFound
from doxie.messaging.privacy import erase_recipient
from doxie.tenants.models import Tenant


def expire_due(*, batch_size: int = 500, max_batches: int = 100) -> int:
    """Pending consents past their validity become expired, in short batched transactions.

    Rows are claimed with ``SKIP LOCKED``, so a P1 or a confirmation holding a consent is
    not waited for (it is picked up by the next run) and two runs never collide.
    """
    total = 0
    for _ in range(max_batches):
        with transaction.atomic():
            now = timezone.now()
            batch = list(
                Consent.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("purpose", "contact")
                .filter(status=ConsentStatus.PENDING, expires_at__lte=now)
                .order_by("expires_at")[:batch_size]
            )
            if not batch:
                break
            entries = [expire_entry(consent, now) for consent in batch]
            Consent.objects.filter(id__in=[c.id for c in batch]).update(
                status=ConsentStatus.EXPIRED, updated_at=now
            )
            ledger.append(entries)
        total += len(batch)
        if len(batch) < batch_size:
            break
    return total


# --- erasure (admin) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureResult:
    contact: Contact
    revoked: list[Consent]
    consents: int


@transaction.atomic
def erase_contact(*, tenant: Tenant, customer_id: str, actor: Actor) -> ErasureResult:
    """Pseudonymize a contact and its consents; revoke what is active; the ledger stays.

    The ledger never held the raw values (only hashes), so it keeps proving what happened
    and still verifies. The contact's customer id becomes a random pseudonym, so a later
    P1 with the same customer id starts a new, unrelated contact.
    """
    contact = Contact.objects.select_for_update().filter(
        tenant=tenant, customer_id=customer_id
    ).first()
    if contact is None:
        raise NotFound("Contact not found")
    consents = list(
        Consent.objects.select_for_update(of=("self",))
        .filter(contact=contact).select_related("purpose", "process").order_by("id")
    )
    active = [c for c in consents if c.status in ACTIVE_STATUSES]
    entries = revoke_entries(active, contact, actor, reason="erasure")
    # The DOI messages and the processes' stored requests hold the address too.
    erase_recipient(
        tenant=tenant,
        addresses=[contact.email, contact.phone, *(c.channel_value for c in consents)],
        process_ids=[c.process_id for c in consents if c.process_id],
    )
    now = timezone.now()
    for consent in consents:
        consent.channel_value = "sha256:" + ledger.value_hash(
            tenant.id, consent.channel, consent.channel_value
        )
        consent.confirmed_ip, consent.confirmed_user_agent, consent.updated_at = None, "", now
    if consents:
        Consent.objects.bulk_update(
            consents, ["channel_value", "confirmed_ip", "confirmed_user_agent", "updated_at"]
        )
    pseudonym = f"erased-{secrets.token_hex(12)}"
    customer_hash = ledger.value_hash(tenant.id, "customer_id", customer_id)
    contact.customer_id, contact.email, contact.phone = pseudonym, "", ""
    contact.erased_at = now
    contact.save(update_fields=["customer_id", "email", "phone", "erased_at", "updated_at"])
    entries.append(ledger.entry(
        tenant_id=tenant.id, kind=LedgerKind.ERASED, actor=actor.name, contact=contact,
        ip=actor.ip, user_agent=actor.user_agent, occurred_at=now,
        data={"pseudonym": pseudonym, "customer_id_hash": customer_hash,
              "consents": len(consents), "revoked": len(active)},
    ))
    ledger.append(entries)
    return ErasureResult(contact=contact, revoked=active, consents=len(consents))
