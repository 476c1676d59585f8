"""Contacts, consent purposes, consents and the append-only consent ledger.

Why the shapes are what they are:

* A ``Consent`` is the *current state* (pending, confirmed, revoked, expired) of one contact's
  consent for one purpose on one channel value; it is mutable and may be pseudonymized.
* The ``ConsentLedgerEntry`` table is the *proof*: every step (requested, message sent,
  confirmed, revoked, expired, erased) is appended, hash-chained per tenant, never updated
  or deleted (a database trigger enforces that, see migration 0002). It never stores a raw
  email address or phone number, only a hash, so erasure can leave it untouched.
* Only a SHA-256 of the confirmation token is stored: a database leak cannot confirm
  anything, and the token in the message is the only key to the confirmation page.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from doxie.consents.rendering import sanitize_html
from doxie.core.models import TenantOwned


class Contact(TenantOwned):
    """A person as the tenant knows them (``customer_id``) with their latest channels."""

    customer_id = models.CharField(max_length=255)
    email = models.CharField(max_length=320, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    # Set by erasure: customer_id, email and phone are then pseudonyms.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer_id"], name="uniq_contact_customer")
        ]

    def __str__(self) -> str:
        return self.customer_id


class ConsentPurpose(TenantOwned):
    """What a contact consents to, and how the double opt-in message and pages look."""

    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    doi_email_sender = models.EmailField(blank=True, default="")
    doi_email_sender_name = models.CharField(max_length=200, blank=True, default="")
    doi_email_subject = models.TextField(blank=True, default="")
    doi_email_html = models.TextField(blank=True, default="")
    doi_email_text = models.TextField(blank=True, default="")
    doi_sms_text = models.TextField(blank=True, default="")
    confirmation_validity_hours = models.PositiveIntegerField(default=72)
    success_redirect_url = models.URLField(max_length=2048, blank=True, default="")
    # Shown after confirming when no redirect is configured; sanitized with nh3 on save.
    success_page_html = models.TextField(blank=True, default="")
    # A published landing page (pages app) shown instead of the built-in success page.
    success_landing_page_slug = models.SlugField(max_length=100, blank=True, default="")
    resend_throttle_seconds = models.PositiveIntegerField(default=300)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="uniq_consent_purpose_slug")
        ]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args, **kwargs) -> None:
        # Every write path (admin, apply_config, shell) gets the same sanitizing.
        self.success_page_html = sanitize_html(self.success_page_html)
        super().save(*args, **kwargs)


class ConsentChannel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"


class ConsentStatus(models.TextChoices):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REVOKED = "revoked"
    EXPIRED = "expired"


ACTIVE_STATUSES = (ConsentStatus.PENDING, ConsentStatus.CONFIRMED)


class Consent(TenantOwned):
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="consents")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    # Normalized: lower-cased email address or E.164 phone number (pseudonym after erasure).
    channel_value = models.CharField(max_length=320)
    status = models.CharField(
        max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.PENDING
    )
    process = models.ForeignKey(
        "processes.Process", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_user_agent = models.TextField(blank=True, default="")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "purpose", "channel_value"],
                condition=Q(status__in=["pending", "confirmed"]),
                name="uniq_active_consent",
            )
        ]
        indexes = [
            # confirmed_channel_values(): the Mailer's consent gate on every send.
            models.Index(
                fields=["tenant", "purpose", "channel_value"],
                condition=Q(status="confirmed"),
                name="consent_confirmed_idx",
            ),
            # The expiry job's scan.
            models.Index(
                fields=["expires_at"], condition=Q(status="pending"), name="consent_pending_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id}:{self.channel}:{self.status}"


class LedgerKind(models.TextChoices):
    REQUESTED = "requested"
    MESSAGE_SENT = "message_sent"
    CONFIRMED = "confirmed"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ERASED = "erased"


class ConsentLedgerEntry(models.Model):
    """One step of the proof. Append-only (database trigger); see ``doxie.consents.ledger``.

    Not ``TenantOwned``: that base carries ``updated_at``, and nothing here is ever updated.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    # Position in the tenant's chain, 1-based and gap-free: a deleted row shows as a gap.
    seq = models.BigIntegerField()
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=200)  # api_user:<name> | ip:<addr> | system | admin:<u>
    # Text, not inet: the value hashed must come back from the database byte for byte.
    ip = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.TextField(blank=True, default="")
    channel = models.CharField(max_length=8, blank=True, default="")
    channel_value_hash = models.CharField(max_length=64, blank=True, default="")
    # The exact text the person saw (confirmation token redacted), or the page version.
    shown_text = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "consents_ledger_entry"
        ordering = ["tenant", "seq"]
        verbose_name = "consent ledger entry"
        verbose_name_plural = "consent ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="uniq_ledger_seq")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"
