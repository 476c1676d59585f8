"""QR events' settings, the codes P6 creates and the scans their public URL records.

A code's counters (total, human, bots, first/last scan) are maintained in the same statement
that records a scan, so the admin API reads them from the row instead of counting scans, and
a scan is counted exactly when its row (and its webhook outbox flag) commits.
"""

from __future__ import annotations

import uuid

from django.db import models

from doxie.core.models import TenantOwned


class ErrorCorrection(models.TextChoices):
    L = "l", "L (7 %)"
    M = "m", "M (15 %)"
    Q = "q", "Q (25 %)"
    H = "h", "H (30 %)"


class QrEventConfig(TenantOwned):
    """The ``qr`` section of an event of kind ``qr``: P6's defaults and the image style."""

    event = models.OneToOneField(
        "processes.Event", on_delete=models.CASCADE, related_name="qr_config"
    )
    target_url = models.CharField(max_length=2048, blank=True, default="")
    # Validity of a new code in days; NULL: codes never expire unless P6 says so.
    valid_for_days = models.PositiveIntegerField(null=True, blank=True)
    # Where an expired or cancelled code sends scanners; empty: a branded 410 page.
    expired_url = models.CharField(max_length=2048, blank=True, default="")
    dark = models.CharField(max_length=9, default="#000000")
    light = models.CharField(max_length=9, default="#ffffff")
    error_correction = models.CharField(
        max_length=1, choices=ErrorCorrection.choices, default=ErrorCorrection.M
    )
    border = models.PositiveSmallIntegerField(default=4)
    # The tenant's opt-in to storing scanners' full IP addresses (else /24 or /48).
    store_full_ip = models.BooleanField(default=False)

    class Meta:
        verbose_name = "QR event"

    def __str__(self) -> str:
        return f"QR settings of event {self.event_id}"


class QrCode(TenantOwned):
    """One printed code: ``/qr/{uuid}`` redirects to ``target_url`` until it expires."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    process = models.OneToOneField(
        "processes.Process", on_delete=models.CASCADE, related_name="qr_code"
    )
    event = models.ForeignKey("processes.Event", on_delete=models.PROTECT, related_name="+")
    target_url = models.CharField(max_length=2048)
    expired_url = models.CharField(max_length=2048, blank=True, default="")
    valid_until = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Image style, copied from the event when the code is made: a printed code never changes.
    style = models.JSONField(default=dict, blank=True)
    store_full_ip = models.BooleanField(default=False)
    scans_total = models.PositiveIntegerField(default=0)
    scans_human = models.PositiveIntegerField(default=0)
    scans_bot = models.PositiveIntegerField(default=0)
    first_scan_at = models.DateTimeField(null=True, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "QR code"
        indexes = [models.Index(fields=["tenant", "event", "id"], name="qr_event_idx")]

    def __str__(self) -> str:
        return str(self.uuid)


class ScanStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"  # past valid_until, or cancelled (the webhook reports "expired")
    CANCELLED = "cancelled"


class QrScan(TenantOwned):
    """One GET of a code's URL. ``notify_pending`` is the webhook outbox: the notifier job
    turns pending scans into ``qr_code_scanned`` deliveries in batches."""

    code = models.ForeignKey(QrCode, on_delete=models.CASCADE, related_name="scans")
    scanned_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ScanStatus.choices)
    user_agent = models.TextField(blank=True, default="")
    referrer = models.TextField(blank=True, default="")
    # The truncated (or opted-in full) address, later its pseudonym ("pseudonym:" + 64 hex).
    ip = models.CharField(max_length=80, blank=True, default="")
    potential_bot = models.BooleanField(default=False)
    link_preview = models.BooleanField(default=False)
    notify_pending = models.BooleanField(default=False)
    pseudonymized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "QR scan"
        ordering = ["-scanned_at", "-id"]
        indexes = [
            models.Index(fields=["code", "scanned_at"], name="qrscan_code_idx"),
            models.Index(
                fields=["tenant", "id"], name="qrscan_notify_idx",
                condition=models.Q(notify_pending=True),
            ),
            models.Index(fields=["tenant", "scanned_at"], name="qrscan_age_idx"),
        ]

    def __str__(self) -> str:
        return f"scan {self.id} of {self.code_id}"
