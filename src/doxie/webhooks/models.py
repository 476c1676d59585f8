"""Outgoing webhooks: the customer's endpoints and the interaction log that doubles as the
delivery queue.

An interaction row is both the audit record the admin API shows (A25) and the unit of work
the drainer claims: high-volume delivery is rows with a state and ``next_attempt_at``, not
one procrastinate job per delivery (DESIGN.md §Reliability rules).
"""

from __future__ import annotations

import re

from django.db import models
from django.db.models import Q

from doxie.core.crypto import EncryptedTextField
from doxie.core.models import TenantOwned
from doxie.webhooks.events import ENDPOINT_TYPES, Ping


def _label(endpoint_type: str) -> str:
    """``Webhook::MessageStatusEndpoint`` -> ``Message Status`` (the admin's choice label)."""
    core = endpoint_type.removeprefix("Webhook::").removesuffix("Endpoint")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", core)


#: The endpoint ``type`` choices, derived from the event classes (``events.ENDPOINT_TYPES``).
ENDPOINT_TYPE_CHOICES: list[tuple[str, str]] = [(t, _label(t)) for t in ENDPOINT_TYPES]
#: Sent only by the "test" operation, to one endpoint, whatever its type.
PING_EVENT = Ping.EVENT


class WebhookEndpoint(TenantOwned):
    """A customer URL that receives one notification type."""

    type = models.CharField(max_length=64, choices=ENDPOINT_TYPE_CHOICES)
    url = models.CharField(max_length=2048)
    basic_auth_username = models.CharField(max_length=255, null=True, blank=True)
    basic_auth_password = EncryptedTextField(null=True, blank=True)
    # ``whsec_`` + base64(32 bytes); shown once on create and on rotation.
    signing_secret = EncryptedTextField()
    # After a rotation the old secret keeps signing (a second ``v1,`` entry) for a grace
    # period, so receivers can switch without dropping deliveries.
    previous_signing_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    send_original_payload = models.BooleanField(default=False)
    # Start of the current run of failed attempts (NULL after any success): an endpoint
    # failing everything for 5 days is deactivated.
    failing_since = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "type", "is_active"], name="wh_ep_tenant_type")]

    def __str__(self) -> str:
        return f"{self.type} -> {self.url}"


class InteractionStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERING = "delivering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


TERMINAL_STATUSES = (InteractionStatus.SUCCEEDED, InteractionStatus.FAILED)


class WebhookInteraction(TenantOwned):
    """One event for one endpoint: its payloads, its latest attempt and every attempt so far."""

    # The high-volume table: the composite indexes below lead with these foreign keys, so
    # the default single-column FK indexes would only slow every insert down.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="interactions", db_index=False
    )
    event = models.CharField(max_length=64)
    # The Standard Webhooks ``webhook-id``: stable across retries and manual resends.
    event_id = models.CharField(max_length=64)
    process_id = models.CharField(max_length=64, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=InteractionStatus.choices, default=InteractionStatus.PENDING
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Lease of the drainer that claimed the row; an expired lease means its worker died.
    claimed_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    retry_count = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_method = models.CharField(max_length=8, default="POST")
    response_code = models.PositiveIntegerField(null=True, blank=True)
    sent_payload = models.JSONField(default=dict)
    transaction_payload = models.JSONField(default=dict)
    response_payload = models.JSONField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # [{"attempt", "at", "response_code", "duration_ms", "error"}, ...], oldest first.
    attempts = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The drainer's claim: due rows of one endpoint in creation order.
            models.Index(
                fields=["endpoint", "created_at", "id"],
                name="wh_int_claim",
                condition=Q(status="pending"),
            ),
            # The sweep: is anything of this endpoint due?
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="wh_int_due",
                condition=Q(status="pending"),
            ),
            # The sweep: leases of dead workers.
            models.Index(
                fields=["claimed_until"],
                name="wh_int_lease",
                condition=Q(status="delivering"),
            ),
            # A25: newest first per endpoint.
            models.Index(fields=["endpoint", "-created_at", "-id"], name="wh_int_log"),
            # Retention purge.
            models.Index(fields=["tenant", "created_at"], name="wh_int_retention"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} ({self.status})"
