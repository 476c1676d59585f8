"""Procrastinate jobs for messaging, and the housekeeping they run. Names are stable: they are
stored in the jobs table.

* ``messaging.drain_brand`` — send everything due for one brand (deferred by
  ``queueing.enqueue`` with a queueing lock per brand; see ``delivery``).
* ``messaging.sweep`` — every minute: requeue messages whose drainer died mid-batch (claim
  lease expired) and wake drainers for brands with due messages (retries, scheduled sends,
  lost wake-ups).
* ``messaging.retention`` — hourly: pseudonymize and delete old messages per brand, purge
  expired idempotency records.

All are idempotent: a second run finds nothing left to do and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from doxie.core.jobs import app
from doxie.messaging import delivery, queueing
from doxie.messaging.models import IdempotencyRecord, Message, MessageStatus, MessageStatusEvent
from doxie.messaging.privacy import clear_payloads, pseudonymize_batch
from doxie.messaging.services import IDEMPOTENCY_TTL
from doxie.processes.models import Process, ProcessKind

ACTIVE = (MessageStatus.QUEUED, MessageStatus.SENDING)
_MSG = Message._meta.db_table


@app.task(name="messaging.drain_brand")
async def drain_brand(brand_id: int) -> int:
    """Send the brand's due messages; returns the number of send attempts made."""
    return await delivery.drain_brand(brand_id)


@app.periodic(cron="* * * * *", periodic_id="messaging.sweep")
@app.task(name="messaging.sweep", queueing_lock="messaging.sweep")
def sweep(timestamp: int | None = None) -> dict[str, int]:
    """Retries are rows, not jobs: something must wake their drainers when they fall due."""
    return {"released": release_expired_claims(), "drainers": defer_due_drainers()}


@app.periodic(cron="41 * * * *", periodic_id="messaging.retention")
@app.task(name="messaging.retention", queueing_lock="messaging.retention")
def retention(timestamp: int | None = None) -> dict[str, int]:
    """The brands' retention rules for sent messages (see ``apply_retention``)."""
    return apply_retention()


# --- sweep ------------------------------------------------------------------------------------


@transaction.atomic
def release_expired_claims(limit: int = 10_000) -> int:
    """``sending`` rows whose lease expired (their worker died) become due again.

    The provider may already have accepted such a message; sending it again with the same
    Message-ID / CustomID is the at-least-once price of never losing one.
    """
    now = timezone.now()
    rows = list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=MessageStatus.SENDING, claimed_until__lt=now)
        .values_list("id", "tenant_id")[:limit]
    )
    if not rows:
        return 0
    Message.objects.filter(id__in=[i for i, _ in rows]).update(
        status=MessageStatus.QUEUED, next_attempt_at=now, claimed_until=None, lease_token=None,
        updated_at=now,
    )
    MessageStatusEvent.objects.bulk_create(
        MessageStatusEvent(
            tenant_id=tenant_id, message_id=message_id, status=MessageStatus.QUEUED,
            occurred_at=now, detail={"reason": "claim expired (worker stopped); requeued"},
        )
        for message_id, tenant_id in rows
    )
    return len(rows)


def defer_due_drainers() -> int:
    """One drainer per brand with due messages (one index probe per brand)."""
    from doxie.brands.models import Brand

    due = Message.objects.filter(
        brand=OuterRef("pk"), status=MessageStatus.QUEUED, next_attempt_at__lte=timezone.now()
    )
    ids = list(Brand.objects.filter(Exists(due)).values_list("id", flat=True))
    with transaction.atomic():
        for brand_id in ids:
            queueing.defer_drain(brand_id)
    return len(ids)


# --- retention --------------------------------------------------------------------------------


def apply_retention(*, batch_size: int = 1000, max_batches: int = 500) -> dict[str, int]:
    """Per brand: delete messages older than ``storage_duration_of_sent_messages_in_days``,
    pseudonymize those older than ``pseudonymization_duration_of_sent_messages_in_days``.

    Bounded batches, each its own short transaction; whatever is left over is picked up by
    the next run. Messages still queued or being sent are never touched.
    """
    from doxie.brands.models import Brand

    now = timezone.now()
    totals = {"deleted": 0, "pseudonymized": 0, "processes_deleted": 0, "idempotency": 0}
    batches = 0
    brands = Brand.objects.order_by("id").values_list(
        "id", "pseudonymization_duration_of_sent_messages_in_days",
        "storage_duration_of_sent_messages_in_days",
    )
    for brand_id, pseudo_days, storage_days in brands:
        finished = Message.objects.filter(brand_id=brand_id).exclude(status__in=ACTIVE)
        expired = finished.filter(created_at__lt=now - timedelta(days=storage_days))
        while batches < max_batches:
            batches += 1
            ids = list(expired.order_by("id").values_list("id", flat=True)[:batch_size])
            if ids:
                with transaction.atomic():
                    totals["deleted"] += Message.objects.filter(id__in=ids).delete()[1].get(
                        Message._meta.label, 0
                    )
            if len(ids) < batch_size:
                break
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
        while batches < max_batches:
            batches += 1
            rows = list(stale.order_by("id").values_list("id", "recipient")[:batch_size])
            if rows:
                pseudonymize_batch(rows)
                totals["pseudonymized"] += len(rows)
            if len(rows) < batch_size:
                break
        # Processes whose templates all failed have no messages but still hold a payload.
        clear_payloads(Process.objects.filter(
            kind=ProcessKind.MAILER, event__brand_id=brand_id, created_at__lt=cutoff
        ))
    stale_keys = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_TTL)
    while True:
        ids = list(stale_keys.values_list("id", flat=True)[:batch_size])
        if ids:
            totals["idempotency"] += IdempotencyRecord.objects.filter(id__in=ids).delete()[0]
        if len(ids) < batch_size:
            break
    return totals
