"""Journeys: one version row per definition change, one row per run.

A run is the whole state of one injected contact: where it stands in its version's compiled
program (``pc``), when it next needs attention (``wake_at``, drained by the core engine), what
it waits for (``waiting``) and the path it took (``history``). No row per contact per step
beyond that: the messages it sent are messaging's rows, found by the run's process, and
``JourneySend`` is the (run, step) key that makes a send step happen once.
"""

from __future__ import annotations

from django.db import models

from doxie.core.models import TenantOwned


class JourneyVersion(TenantOwned):
    """An immutable definition of an injector event's journey; a change is a new row."""

    event = models.ForeignKey("processes.Event", on_delete=models.CASCADE,
                              related_name="journey_versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()  # as written in the YAML (normalised)
    program = models.JSONField()  # compiled: a flat list of instructions with jumps
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="uniq_journey_version")
        ]
        ordering = ["event", "-number"]

    def __str__(self) -> str:
        return f"{self.event} v{self.number}"


class RunState(models.TextChoices):
    ACTIVE = "active"
    FINISHED = "finished"  # walked off the end of the steps
    EXITED = "exited"  # reached an `exit` step
    CANCELLED = "cancelled"


class JourneyRun(TenantOwned):
    process = models.OneToOneField("processes.Process", on_delete=models.CASCADE,
                                   related_name="journey_run")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="runs")
    event = models.ForeignKey("processes.Event", on_delete=models.CASCADE, related_name="+")
    # sha256 of the rendered `key` (the contact): re-entry rules and sticky splits.
    contact_key = models.CharField(max_length=64, db_index=False)
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.ACTIVE)
    pc = models.PositiveIntegerField(default=0)
    wake_at = models.DateTimeField(null=True, blank=True)
    # {"pc": n, "op": "wait_for", "until": iso, "why": ...} while waiting in a step.
    waiting = models.JSONField(null=True, blank=True)
    waiting_op = models.CharField(max_length=16, blank=True, default="")
    history = models.JSONField(default=list, blank=True)
    exit_reason = models.CharField(max_length=100, blank=True, default="")
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "wake_at"], name="journey_run_due_idx",
                         condition=models.Q(state="active", claimed_until__isnull=True)),
            models.Index(fields=["claimed_until"], name="journey_run_lease_idx",
                         condition=models.Q(claimed_until__isnull=False)),
            models.Index(fields=["event", "contact_key", "created_at"],
                         name="journey_run_contact_idx"),
            models.Index(fields=["version", "state", "pc"], name="journey_run_step_idx"),
        ]


class JourneySend(TenantOwned):
    """The (run, step) key of a send step: a second execution of the step cannot commit."""

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="sends")
    pc = models.PositiveIntegerField()
    template_name = models.CharField(max_length=200)
    message_ids = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "pc"], name="uniq_journey_send_step")
        ]
