"""Consent use cases: initiate (P1), revoke (P2), confirm (the DOI page), expire, erase.

Each is one transaction: domain rows, the DOI message (queued through messaging, with its
drainer deferred), the webhook interaction and the ledger entries commit together or not at
all. Ledger entries are appended last, because appending takes the tenant's ledger lock
until commit (see ``ledger``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from doxie.consents import ledger, normalize, rendering, selectors, texts
from doxie.consents.models import (
    ACTIVE_STATUSES,
    Consent,
    ConsentChannel,
    ConsentLedgerEntry,
    ConsentPurpose,
    ConsentStatus,
    Contact,
    LedgerKind,
)
from doxie.core import ratelimit
from doxie.core.db import savepoint
from doxie.core.errors import FieldError, Invalid, NotFound, RateLimited
from doxie.core.timefmt import isoformat_z
from doxie.messaging import queueing, secret_links
from doxie.messaging import services as messaging_services
from doxie.messaging.models import Message
from doxie.processes import services as process_services
from doxie.processes.models import ProcessKind
from doxie.tenants.models import Tenant
from doxie.webhooks.events import DoiConfirmation
from doxie.webhooks.services import emit


@dataclass(frozen=True)
class Actor:
    """Who caused a ledger entry.

    ``api_user:<name>``, ``admin:<user>``, ``ip:<addr>`` (the person) or ``system``.
    """

    name: str
    ip: str | None = None
    user_agent: str = ""


SYSTEM = Actor("system")


# --- tokens -----------------------------------------------------------------------------------


def new_token(channel: str) -> str:
    """256 bits for email links; 128 bits (still unguessable) keeps SMS links short."""
    return secrets.token_urlsafe(16 if channel == ConsentChannel.SMS else 32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def confirmation_url(token: str, channel: str) -> str:
    path = "d" if channel == ConsentChannel.SMS else "doi"
    return f"{settings.DOXIE_PUBLIC_URL}/{path}/{token}"


# --- P1 -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitiateResult:
    consent: Consent
    process_uuid: str | None
    contact_channel: str
    sent: bool  # False: already confirmed, nothing sent


def _channel(email: str | None, phone: str | None) -> tuple[str, str]:
    """(channel, normalized value); 422 unless exactly one valid channel is given."""
    email, phone = (email or "").strip() or None, (phone or "").strip() or None
    if email and phone:
        message = "only one contact channel is allowed: send either email or phone"
        raise Invalid(
            [FieldError("email", message), FieldError("phone", message)],
            message=f"Validation failed: {message}",
        )
    if not email and not phone:
        message = "one contact channel is required: send email or phone"
        raise Invalid(
            [FieldError("email", message), FieldError("phone", message)],
            message=f"Validation failed: {message}",
        )
    name, value = ("email", email) if email else ("phone", phone)
    try:
        normal = normalize.email(value) if name == "email" else normalize.phone(value)
    except normalize.ChannelValueError as exc:
        raise Invalid.one(name, str(exc)) from None
    return (ConsentChannel.EMAIL if name == "email" else ConsentChannel.SMS), normal


def _require_template(purpose: ConsentPurpose, channel: str) -> None:
    if channel == ConsentChannel.EMAIL:
        ready = purpose.doi_email_sender and purpose.doi_email_subject and (
            purpose.doi_email_html or purpose.doi_email_text
        )
        if not ready:
            raise Invalid.one(
                "email", f"consent purpose '{purpose.slug}' has no double opt-in email template"
            )
    elif not purpose.doi_sms_text:
        raise Invalid.one(
            "phone", f"consent purpose '{purpose.slug}' has no double opt-in SMS template"
        )


def _locked_contact(
    tenant: Tenant, customer_id: str, channel: str, value: str
) -> tuple[Contact, bool]:
    """The contact row, locked (concurrent calls for one contact are serialised), with its
    channel brought up to date; True when it was created by this call."""
    field = "email" if channel == ConsentChannel.EMAIL else "phone"
    query = Contact.objects.select_for_update().filter(tenant=tenant, customer_id=customer_id)
    contact = query.first()
    if contact is None:
        try:
            with savepoint():
                created = Contact.objects.create(
                    tenant=tenant, customer_id=customer_id, **{field: value}
                )
            return created, True
        except IntegrityError:  # created concurrently; it is committed now that we got here
            contact = query.get()
    if contact.erased_at is not None:  # only reachable through its pseudonym
        raise Invalid.one("customer_id", "belongs to an erased contact")
    if getattr(contact, field) != value:
        setattr(contact, field, value)
        contact.save(update_fields=[field, "updated_at"])
    return contact, False


def _throttle_key(consent: Consent) -> str:
    return f"consent-resend:{consent.tenant_id}:{consent.contact_id}:{consent.purpose_id}"


@dataclass(frozen=True)
class _Doi:
    """The rendered DOI message, with the link as its placeholder (nothing secret in it)."""

    subject: str
    html: str
    text: str
    shown: str  # the message as the person sees it, for the ledger
    version: str  # template_sha256


def _render_doi(purpose: ConsentPurpose, channel: str, customer_id: str) -> _Doi:
    """Render before anything is written; a template failing at run time is a 422 for this
    request (configuration checks the templates with a sample context already)."""
    context = rendering.redacted_context(customer_id, purpose.name)
    try:
        if channel == ConsentChannel.EMAIL:
            email = rendering.render_email(purpose, context)
            return _Doi(
                email.subject, email.html, email.text,
                rendering.shown_email_text(
                    purpose.doi_email_sender, purpose.doi_email_sender_name, email
                ),
                rendering.template_sha256(
                    purpose.doi_email_subject, purpose.doi_email_html, purpose.doi_email_text
                ),
            )
        text = rendering.render_sms(purpose, context)
    except rendering.DoiRenderError as exc:
        raise Invalid.one(
            "consent_slug",
            f"the double opt-in template of consent purpose '{purpose.slug}' cannot be "
            f"rendered: {exc}",
        ) from None
    return _Doi("", "", text, text, rendering.template_sha256(purpose.doi_sms_text))


def _build_message(
    purpose: ConsentPurpose, consent: Consent, process: Any, doi: _Doi, url: str
) -> Message:
    """The queued DOI message: bodies with the placeholder, the link only in its encrypted
    ``secret_values`` (filled in by delivery, see ``doxie.messaging.secret_links``)."""
    name = f"DOI {purpose.name}"[:200]
    if consent.channel == ConsentChannel.EMAIL:
        message = queueing.build_email(
            process=process, brand=purpose.brand, recipient=consent.channel_value,
            sender=purpose.doi_email_sender, sender_name=purpose.doi_email_sender_name,
            subject=doi.subject, html=doi.html, text=doi.text, template_name=name,
        )
    else:
        message = queueing.build_sms(
            process=process, brand=purpose.brand, recipient=consent.channel_value,
            text=doi.text, sender=purpose.brand.sender_phone_number or "", template_name=name,
        )
    message.secret_values = secret_links.seal({"confirmation_url": url})
    return message


def expire_entry(consent: Consent, now: datetime) -> ConsentLedgerEntry:
    consent.status = ConsentStatus.EXPIRED
    return ledger.entry(
        tenant_id=consent.tenant_id, kind=LedgerKind.EXPIRED, actor=SYSTEM.name,
        consent=consent, data={"purpose": consent.purpose.slug, "expires_at": consent.expires_at},
        occurred_at=now,
    )


@transaction.atomic
def initiate(
    *, tenant: Tenant, customer_id: str, consent_slug: str, email: str | None = None,
    phone: str | None = None, actor: Actor,
) -> InitiateResult:
    """Start (or re-send) a double opt-in; a confirmed consent answers without sending."""
    customer_id = (customer_id or "").strip()
    if not customer_id:
        raise Invalid.one("customer_id", "must not be blank")
    if len(customer_id) > 255:
        raise Invalid.one("customer_id", "must be at most 255 characters")
    channel, value = _channel(email, phone)
    purpose = selectors.get_purpose(tenant, consent_slug)
    _require_template(purpose, channel)
    doi = _render_doi(purpose, channel, customer_id)

    contact, new_contact = _locked_contact(tenant, customer_id, channel, value)
    now = timezone.now()
    entries: list[ConsentLedgerEntry] = []
    consent = None if new_contact else (
        Consent.objects.select_for_update(of=("self",))
        .select_related("process")
        .filter(contact=contact, purpose=purpose, channel_value=value, status__in=ACTIVE_STATUSES)
        .first()
    )
    if consent is not None:
        consent.purpose, consent.contact = purpose, contact
    if consent is not None and consent.status == ConsentStatus.CONFIRMED:
        process_uuid = str(consent.process.uuid) if consent.process else None
        return InitiateResult(consent, process_uuid, value, sent=False)
    if consent is not None and consent.expires_at <= now:
        entries.append(expire_entry(consent, now))  # the job has not got to it yet
        consent.save(update_fields=["status", "updated_at"])
        consent = None
    resend = consent is not None
    window = purpose.resend_throttle_seconds
    if resend and window:
        wait = ratelimit.blocked_for([_throttle_key(consent)], 1, window)
        if wait:
            raise RateLimited(
                wait, f"The confirmation was sent recently; it can be re-sent in {wait} s"
            )

    token = new_token(channel)
    expires_at = now + timedelta(hours=purpose.confirmation_validity_hours)
    if consent is None or consent.process is None:
        payload = {
            "customer_id": customer_id, "consent_slug": purpose.slug, channel_key(channel): value
        }
        process = process_services.create_process(
            tenant=tenant, kind=ProcessKind.CONSENT, original_payload=payload
        )
    else:
        process = consent.process
    if consent is None:
        consent = Consent.objects.create(
            tenant=tenant, contact=contact, purpose=purpose, channel=channel,
            channel_value=value, process=process, token_hash=hash_token(token),
            expires_at=expires_at, last_sent_at=now,
        )
    else:
        consent.process = process
        consent.token_hash = hash_token(token)  # a re-send replaces the link
        consent.expires_at, consent.last_sent_at = expires_at, now
        consent.save(
            update_fields=["process", "token_hash", "expires_at", "last_sent_at", "updated_at"]
        )
    message = _build_message(purpose, consent, process, doi, confirmation_url(token, channel))
    queueing.insert_messages([message])
    if window:
        ratelimit.hit(_throttle_key(consent), window)

    base = {"purpose": purpose.slug, "process_uuid": str(process.uuid)}
    entries.append(ledger.entry(
        tenant_id=tenant.id, kind=LedgerKind.REQUESTED, actor=actor.name, consent=consent,
        ip=actor.ip, user_agent=actor.user_agent, occurred_at=now,
        data={**base, "resend": resend, "expires_at": isoformat_z(expires_at),
              "purpose_name": purpose.name},
    ))
    entries.append(ledger.entry(
        tenant_id=tenant.id, kind=LedgerKind.MESSAGE_SENT, actor=SYSTEM.name, consent=consent,
        shown_text=doi.shown, occurred_at=now,
        data={**base, "message_id": str(message.public_id), "template_sha256": doi.version,
              "status": "queued", "brand": purpose.brand.slug},
    ))
    # Both steps below serialise concurrent requests of the brand / tenant until commit, so
    # they come last (and always in this order: drainer lock, then ledger lock).
    queueing.wake_drainers([message])
    ledger.append(entries)
    return InitiateResult(consent, str(process.uuid), value, sent=True)


def channel_key(channel: str) -> str:
    """The P1 field name of a channel ("email" / "phone")."""
    return "email" if channel == ConsentChannel.EMAIL else "phone"


# --- P2 -----------------------------------------------------------------------------------------


@transaction.atomic
def revoke(
    *, tenant: Tenant, customer_id: str, consent_slug: str | None = None,
    revoke_all: bool = False, actor: Actor,
) -> list[Consent]:
    """Revoke the contact's active consents for one purpose (or all); returns them."""
    if not revoke_all and not (consent_slug or "").strip():
        raise Invalid.one("consent_slug", "is required unless revoke_all is true")
    purpose = None if revoke_all else selectors.get_purpose(tenant, consent_slug or "")
    contact = Contact.objects.select_for_update().filter(
        tenant=tenant, customer_id=(customer_id or "").strip()
    ).first()
    if contact is None:
        raise NotFound("Contact not found")
    query = Consent.objects.select_for_update(of=("self",)).filter(
        contact=contact, status__in=ACTIVE_STATUSES
    )
    if purpose is not None:
        query = query.filter(purpose=purpose)
    consents = list(query.select_related("purpose", "process").order_by("id"))
    ledger.append(revoke_entries(consents, contact, actor, reason="revoked through the API"))
    return consents


def revoke_entries(
    consents: list[Consent], contact: Contact, actor: Actor, *, reason: str
) -> list[ConsentLedgerEntry]:
    """Mark ``consents`` revoked; returns their ledger entries for the caller to append."""
    now = timezone.now()
    entries = []
    for consent in consents:
        previous = consent.status
        consent.status, consent.revoked_at, consent.updated_at = ConsentStatus.REVOKED, now, now
        consent.contact = contact
        entries.append(ledger.entry(
            tenant_id=consent.tenant_id, kind=LedgerKind.REVOKED, actor=actor.name,
            consent=consent, ip=actor.ip, user_agent=actor.user_agent, occurred_at=now,
            data={"purpose": consent.purpose.slug, "previous_status": previous,
                  "reason": reason,
                  "process_uuid": str(consent.process.uuid) if consent.process else None},
        ))
    if consents:
        Consent.objects.bulk_update(consents, ["status", "revoked_at", "updated_at"])
    return entries


# --- the confirmation link ------------------------------------------------------------------


class LinkState:
    READY = "ready"  # pending and valid: the page offers the button
    CONFIRMED = "confirmed"  # confirmed by this request
    ALREADY_CONFIRMED = "already_confirmed"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def link_state(consent: Consent | None, now: datetime | None = None) -> str:
    if consent is None:
        return LinkState.UNKNOWN
    if consent.status == ConsentStatus.CONFIRMED:
        return LinkState.ALREADY_CONFIRMED
    if consent.status == ConsentStatus.REVOKED:
        return LinkState.REVOKED
    if consent.status == ConsentStatus.EXPIRED or consent.expires_at <= (now or timezone.now()):
        return LinkState.EXPIRED
    return LinkState.READY


@dataclass(frozen=True)
class ConfirmOutcome:
    state: str
    consent: Consent | None


@transaction.atomic
def confirm(*, token: str, ip: str | None, user_agent: str) -> ConfirmOutcome:
    """The person pressed the button: confirm, prove it, and tell the tenant (webhook).

    The ledger keeps the visible text of the page the person confirmed on (``texts``).
    Anything but a valid pending consent changes nothing.
    """
    consent = selectors.consent_for_token(token)
    if consent is None:
        return ConfirmOutcome(LinkState.UNKNOWN, None)
    locked = Consent.objects.select_for_update().filter(pk=consent.pk).first()
    if locked is None or locked.token_hash != consent.token_hash:
        return ConfirmOutcome(LinkState.UNKNOWN, None)  # replaced by a re-send meanwhile
    consent.status, consent.expires_at = locked.status, locked.expires_at
    now = timezone.now()
    state = link_state(consent, now)
    if state != LinkState.READY:
        return ConfirmOutcome(state, consent)

    address = ledger.normalize_ip(ip)
    consent.status, consent.confirmed_at = ConsentStatus.CONFIRMED, now
    consent.confirmed_ip = address or None
    consent.confirmed_user_agent = (user_agent or "").replace("\x00", "")[:1000]
    consent.save(update_fields=[
        "status", "confirmed_at", "confirmed_ip", "confirmed_user_agent", "updated_at"
    ])
    process = consent.process
    identifier = str(process.uuid) if process is not None else None
    # Lock order everywhere: messaging drainer lock < ledger lock < webhook drainer lock.
    ledger.append([ledger.entry(
        tenant_id=consent.tenant_id, kind=LedgerKind.CONFIRMED,
        actor=f"ip:{address}" if address else "ip:unknown", consent=consent, ip=address,
        user_agent=user_agent, occurred_at=now,
        shown_text=texts.confirm_page_text(consent.purpose.brand.name, consent.purpose.name),
        data={"purpose": consent.purpose.slug, "process_uuid": identifier},
    )])
    emit(tenant=consent.tenant, event=DoiConfirmation(
        identifier=identifier, timestamp=now, ip_address=address or None,
        original_payload=process.original_payload if process is not None else None,
    ))
    return ConfirmOutcome(LinkState.CONFIRMED, consent)


# --- P7 (the consent kind's canceller, registered in ConsentsConfig.ready) ------------------


def cancel_process_consents(*, process: Any, at: datetime) -> int:
    """A cancelled DOI process must not be confirmable any more: its pending consents are
    revoked (confirmed ones stay: they are no longer pending work). Runs inside the
    P7 transaction; returns how many consents were revoked."""
    consents = list(
        Consent.objects.select_for_update(of=("self",))
        .select_related("purpose", "process", "contact")
        .filter(process=process, status=ConsentStatus.PENDING)
        .order_by("id")
    )
    entries = []
    for consent in consents:
        entries += revoke_entries([consent], consent.contact, SYSTEM, reason="process cancelled")
    ledger.append(entries)
    return len(consents)


def cancel_consent_process(*, process: Any, at: datetime) -> dict[str, int]:
    """P7 for a consent process: its unsent DOI messages and its pending consents."""
    return {
        "messages": messaging_services.cancel_process_messages(process=process, at=at),
        "consents": cancel_process_consents(process=process, at=at),
    }
