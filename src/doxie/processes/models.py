"""Processes and events: the neutral home every domain app builds on.

An ``Event`` is a configured trigger (slug, kind, brand, parameters); a ``Process`` is
everything one API call started, the unit a client can cancel (P7) and inspect (the process
view). Domain apps (messaging, consents, later journeys, surveys, QR codes) point their rows
at a process; they register what they do for it in ``processes.registry``.

The tables keep the names they had when these models lived in messaging (``db_table``), so
moving them here was a state-only migration with no data copied.
"""

from __future__ import annotations

import uuid

from django.db import models

from doxie.core.models import TenantOwned


class EventKind(models.TextChoices):
    MAILER = "mailer"
    INJECTOR = "injector"
    SURVEY = "survey"
    QR = "qr"


class Event(TenantOwned):
    """A configured trigger: the Mailer API sends every template of a mailer event."""

    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices, default=EventKind.MAILER)
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="events")
    # [{"name": "email", "required": true}, ...]
    parameters = models.JSONField(default=list, blank=True)
    # Slug of a consent purpose; when set, recipients need a confirmed consent for it.
    required_consent_slug = models.CharField(max_length=100, blank=True, default="")
    # Kind-specific defaults (QR events: target_url, valid_for_days); other kinds ignore it.
    settings = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "messaging_event"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="uniq_event_slug")
        ]
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def required_parameters(self) -> list[str]:
        return [p["name"] for p in self.parameters if p.get("required")]


class ProcessKind(models.TextChoices):
    """What started a process. A new kind needs a canceller registered for it in the owning
    app's ``AppConfig.ready()``; the ``processes.E001`` system check refuses to start
    otherwise."""

    MAILER = "mailer"
    CONSENT = "consent"
    INJECTOR = "injector"
    QR = "qr"
    SURVEY = "survey"


class ProcessStatus(models.TextChoices):
    ACTIVE = "active"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class Process(TenantOwned):
    """Everything one API call started; the unit a client can cancel (P7)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=ProcessKind.choices)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL)
    original_payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ProcessStatus.choices, default=ProcessStatus.ACTIVE
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "messaging_process"
        verbose_name_plural = "processes"
        indexes = [
            models.Index(fields=["tenant", "status"], name="messaging_p_tenant__8fce9c_idx")
        ]

    def __str__(self) -> str:
        return str(self.uuid)
