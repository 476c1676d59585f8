"""Procrastinate jobs for messaging, and the housekeeping they run. Names are stable: they are
stored in the jobs table.

* ``messaging.drain_brand`` — send everything due for one brand (deferred by
  ``queueing.enqueue`` with a queueing lock per brand; see ``delivery``).
* ``messaging.sweep`` — every minute: requeue messages whose drainer died mid-batch (claim
  lease expired) and wake drainers for brands with due messages whose wake-up was lost
  (the core drain engine's sweep).
* ``messaging.retention`` — hourly: pseudonymize and delete old messages per brand, purge
  expired idempotency records.

All are idempotent: a second run finds nothing left to do and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from doxie.core.drain import BatchBudget, delete_in_batches, in_batches
from doxie.core.jobs import app
from doxie.messaging import delivery
from doxie.messaging.models import (
    IdempotencyRecord,
    Message,
    MessageStatus,
)
from doxie.messaging.privacy import clear_payloads, pseudonymize_batch
from doxie.messaging.services import IDEMPOTENCY_TTL
from doxie.processes.models import Process, ProcessKind

ACTIVE = (MessageStatus.QUEUED, MessageStatus.SENDING)


@app.task(name="messaging.drain_brand")
async def drain_brand(brand_id: int) -> int:
    """Send the brand's due messages; returns the number of send attempts made."""
    return await delivery.drain_brand(brand_id)


@app.periodic(cron="* * * * *", periodic_id="messaging.sweep")
@app.task(name="messaging.sweep", queueing_lock="messaging.sweep")
def sweep(timestamp: int | None = None) -> dict[str, int]:
    """The safety net: requeue rows of dead workers, wake drainers of brands with due rows
    whose wake-up was lost (retries and scheduled sends normally get a scheduled drainer)."""
    return delivery.DRAIN.sweep()


@app.periodic(cron="41 * * * *", periodic_id="messaging.retention")
@app.task(name="messaging.retention", queueing_lock="messaging.retention")
def retention(timestamp: int | None = None) -> dict[str, int]:
    """The brands' retention rules for sent messages (see ``apply_retention``)."""
    return apply_retention()


# --- retention --------------------------------------------------------------------------------


def _pseudonymize(rows: list[tuple[int, str]]) -> int:
    pseudonymize_batch(rows)
    return len(rows)


def apply_retention(*, batch_size: int = 1000, max_batches: int = 500) -> dict[str, int]:
    """Per brand: delete messages older than ``storage_duration_of_sent_messages_in_days``,
    pseudonymize those older than ``pseudonymization_duration_of_sent_messages_in_days``.

    Bounded batches, each its own short transaction; whatever is left over is picked up by
    the next run. Messages still queued or being sent are never touched.
    """
    from doxie.brands.models import Brand

    now = timezone.now()
    totals = {"deleted": 0, "pseudonymized": 0, "processes_deleted": 0, "idempotency": 0}
    budget = BatchBudget(max_batches)
    brands = Brand.objects.order_by("id").values_list(
        "id", "pseudonymization_duration_of_sent_messages_in_days",
        "storage_duration_of_sent_messages_in_days",
    )
    for brand_id, pseudo_days, storage_days in brands:
        finished = Message.objects.filter(brand_id=brand_id).exclude(status__in=ACTIVE)
        expired = finished.filter(created_at__lt=now - timedelta(days=storage_days))
        totals["deleted"] += delete_in_batches(
            expired.order_by("id"), batch_size=batch_size, budget=budget)
        empty = Process.objects.filter(
            kind=ProcessKind.MAILER, event__brand_id=brand_id,
            created_at__lt=now - timedelta(days=storage_days),
        ).exclude(Exists(Message.objects.filter(process=OuterRef("pk"))))
        ids = list(empty.values_list("id", flat=True)[:batch_size])
        if ids:
            totals["processes_deleted"] += Process.objects.filter(id__in=ids).delete()[1].get(
                Process._meta.label, 0
            )
        cutoff = now - timedelta(days=pseudo_days)
        stale = finished.filter(created_at__lt=cutoff, pseudonymized_at__isnull=True)
        totals["pseudonymized"] += in_batches(
            lambda size, stale=stale: list(
                stale.order_by("id").values_list("id", "recipient")[:size]),
            _pseudonymize, batch_size=batch_size, budget=budget,
        )
        # Processes whose templates all failed have no messages but still hold a payload.
        clear_payloads(Process.objects.filter(
            kind=ProcessKind.MAILER, event__brand_id=brand_id, created_at__lt=cutoff
        ))
    stale_keys = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_TTL)
    totals["idempotency"] = delete_in_batches(
        stale_keys.order_by("id"), batch_size=batch_size, budget=BatchBudget(max_batches))
    return totals
