"""Templates (configuration) and messages (the send ledger).

Events and processes live in ``doxie.processes``; templates and messages point at them.

Messages are rows with a state machine, drained in batches by workers (DESIGN.md): the row
is the unit of delivery, its status history is append-only, and provider callbacks find it
by our id (``public_id``, used as Message-ID / CustomID / foreign_id) or the provider's id.
"""

from __future__ import annotations

import uuid

from django.db import models

from doxie.core.crypto import EncryptedTextField
from doxie.core.models import TenantOwned, TenantScopedManager


class TemplateBase(TenantOwned):
    event = models.ForeignKey("processes.Event", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    # A Jinja2 expression rendered with the payload, e.g. "{{ email }}"
    to = models.CharField(max_length=500)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class EmailTemplate(TemplateBase):
    event = models.ForeignKey(
        "processes.Event", on_delete=models.CASCADE, related_name="email_templates"
    )
    sender = models.EmailField()
    sender_name = models.CharField(max_length=200, blank=True, default="")
    reply_to = models.CharField(max_length=500, blank=True, default="")
    subject = models.TextField()
    html = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    track_links = models.BooleanField(default=True)


class SmsTemplate(TemplateBase):
    event = models.ForeignKey(
        "processes.Event", on_delete=models.CASCADE, related_name="sms_templates"
    )
    sender = models.CharField(max_length=32, blank=True, default="")
    text = models.TextField()


class RcsTemplate(TemplateBase):
    event = models.ForeignKey(
        "processes.Event", on_delete=models.CASCADE, related_name="rcs_templates"
    )
    sender = models.CharField(max_length=100, blank=True, default="")
    # seven.io RCS body without to/from: {"text": "...", "suggestions": [...]} etc.
    content = models.JSONField(default=dict)


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    RCS = "rcs"


class MessageStatus(models.TextChoices):
    QUEUED = "queued"  # waiting for a drainer (or for next_attempt_at after a retryable error)
    SENDING = "sending"  # claimed by a worker until claimed_until
    SENT = "sent"  # handed to the provider
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    SPAM = "spam"
    BLOCKED = "blocked"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"  # never sent: suppression list or missing consent


class Message(TenantOwned):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    process = models.ForeignKey(
        "processes.Process", on_delete=models.CASCADE, related_name="messages"
    )
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(
        "processes.Event", null=True, blank=True, on_delete=models.SET_NULL
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    template_name = models.CharField(max_length=200, blank=True, default="")
    recipient = models.CharField(max_length=320)
    sender = models.CharField(max_length=320, blank=True, default="")
    sender_name = models.CharField(max_length=200, blank=True, default="")
    reply_to = models.CharField(max_length=500, blank=True, default="")
    subject = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    rcs_content = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # Secret link values ({"confirmation_url": ...}) filled into the placeholders of the
    # bodies only when the provider's message is built (messaging.secret_links); encrypted,
    # never shown, serialized or sent anywhere else.
    secret_values = EncryptedTextField(blank=True, default="", editable=False)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    status_reason = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Identifies the drainer run that claimed the row: a worker whose lease expired (and whose
    # rows were claimed again by another run) cannot overwrite the newer run's result.
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    provider = models.CharField(max_length=16, blank=True, default="")
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    recipient_message_ids = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    pseudonymized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The drainer's claim: due rows of one brand, oldest due first.
            models.Index(
                fields=["brand", "next_attempt_at", "id"],
                name="msg_due_idx",
                condition=models.Q(status="queued"),
            ),
            # Retention: per brand, by age.
            models.Index(fields=["brand", "created_at"], name="msg_brand_age_idx"),
            models.Index(
                fields=["claimed_until"], name="msg_claimed_idx",
                condition=models.Q(status="sending"),
            ),
            models.Index(fields=["provider_message_id"], name="msg_provider_id_idx"),
            models.Index(fields=["tenant", "created_at"], name="msg_created_idx"),
            models.Index(fields=["process", "status"], name="msg_process_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.public_id}"


class MessageStatusEvent(TenantOwned):
    """Append-only status history of a message (ours and the provider's reports)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="status_events")
    status = models.CharField(max_length=16, choices=MessageStatus.choices)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=32, default="doxie")  # doxie|mailjet|ses|seven|smtp
    detail = models.JSONField(default=dict, blank=True)
    # Provider event identity: a duplicated callback hits the unique constraint and is ignored.
    dedupe_key = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "dedupe_key"],
                name="uniq_status_event",
                condition=~models.Q(dedupe_key=""),
            )
        ]


class TrackedLink(TenantOwned):
    """One rewritten link of one message: /l/<token> redirects to ``url``."""

    token = models.CharField(max_length=64, unique=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="links")
    url = models.TextField()
    clicks = models.PositiveIntegerField(default=0)
    first_clicked_at = models.DateTimeField(null=True, blank=True)


class Suppression(TenantOwned):
    """Addresses that must not receive messages (hard bounces, spam complaints, manual)."""

    address = models.CharField(max_length=320)  # lower-cased email or E.164 phone
    reason = models.CharField(max_length=64)
    source_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "address"], name="uniq_suppression")
        ]


class IdempotencyRecord(TenantOwned):
    """First response to an ``Idempotency-Key``; replays return it for 24 h.

    The row is inserted at the start of the request's transaction, so a concurrent request
    with the same key waits on the unique index until the first one commits (then replays
    its response) or rolls back (then proceeds itself).
    """

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=255)  # e.g. "mailer"
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scope", "key"], name="uniq_idempotency")
        ]
        indexes = [models.Index(fields=["created_at"], name="idem_age_idx")]


class DrainerLeaseManager(TenantScopedManager):
    """Slot leases: at most ``slots`` drainer runs send for one brand at a time."""

    def acquire(self, brand_id: int, token: str, until, slots: int):  # noqa: ANN001
        """Take a free (or expired) slot, or renew ours; returns ``(slot or None, held)``
        where ``held`` counts the brand's live slots (ours included)."""
        from django.db import connection, transaction
        from django.utils import timezone

        now = timezone.now()
        table = self.model._meta.db_table
        take = f"""
            UPDATE {table} SET token = %(token)s, expires_at = %(until)s, updated_at = %(now)s
            WHERE id = (
                SELECT id FROM {table}
                WHERE brand_id = %(brand)s AND slot < %(slots)s
                  AND (token = %(token)s OR expires_at < %(now)s)
                ORDER BY token = %(token)s DESC, slot
                LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING slot
        """  # noqa: S608 - table name is ours, values are parameters
        create = f"""
            INSERT INTO {table} (brand_id, tenant_id, slot, token, expires_at, created_at,
                                 updated_at)
            SELECT b.id, b.tenant_id, s, '', %(now)s - interval '1 second', %(now)s, %(now)s
            FROM brands_brand b, generate_series(0, %(slots)s - 1) s WHERE b.id = %(brand)s
            ON CONFLICT (brand_id, slot) DO NOTHING
        """  # noqa: S608
        count = f"""
            SELECT count(*) FROM {table}
            WHERE brand_id = %(brand)s AND slot < %(slots)s AND expires_at >= %(now)s
        """  # noqa: S608
        params = {"brand": brand_id, "token": token, "until": until, "now": now,
                  "slots": slots}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(take, params)
            row = cursor.fetchone()
            if row is None:
                cursor.execute(create, params)
                if cursor.rowcount:
                    cursor.execute(take, params)
                    row = cursor.fetchone()
            cursor.execute(count, params)
            held = cursor.fetchone()[0]
        return (row[0] if row else None), held

    def release(self, brand_id: int, token: str) -> None:
        from django.utils import timezone

        self.filter(brand_id=brand_id, token=token).update(
            token="", expires_at=timezone.now(), updated_at=timezone.now()
        )


class DrainerLease(TenantOwned):
    """Which drainer runs currently send for a brand: ``slot`` 0..n-1, so a brand gets at
    most n concurrent senders (each paced at 1/n of ``messages_per_second``, so the brand's
    limit holds however many drainer jobs a burst starts, on however many workers).

    A lease, not a lock: a worker killed mid-run simply lets it expire.
    """

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    slot = models.PositiveSmallIntegerField()
    token = models.CharField(max_length=32, blank=True, default="")
    expires_at = models.DateTimeField()

    objects = DrainerLeaseManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "slot"], name="uniq_drainer_slot")
        ]

    def __str__(self) -> str:
        return f"drainer slot {self.slot} of brand {self.brand_id} until {self.expires_at}"
