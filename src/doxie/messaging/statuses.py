"""Message status transitions: one place decides what a reported status may change.

Provider callbacks arrive duplicated and out of order. The history keeps every distinct
report; the message's current status only moves forward, and only a forward move emits a
``message_status_update`` webhook, so receivers never see a regression or a double.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from doxie.core.db import savepoint
from doxie.messaging import listeners
from doxie.messaging.models import Message, MessageStatus, MessageStatusEvent
from doxie.webhooks.events import MessageStatusUpdate

S = MessageStatus
# Positive progress of a delivered message.
PROGRESS_RANK = {S.QUEUED: 0, S.SENDING: 1, S.SENT: 2, S.DELIVERED: 3, S.OPENED: 4, S.CLICKED: 5}
# Outcomes that end a message's story (a complaint may still follow a delivery).
NEGATIVE = {S.BOUNCED, S.SPAM, S.BLOCKED, S.UNSUBSCRIBED, S.FAILED}
# Never sent: nothing a provider says can change them.
FINAL_UNSENT = {S.CANCELLED, S.SUPPRESSED}


def may_advance(current: str, new: str) -> bool:
    if current == new or current in FINAL_UNSENT:
        return False
    if new in FINAL_UNSENT:
        return current in (S.QUEUED, S.SENDING)
    if current in NEGATIVE:
        # A spam complaint or unsubscribe after a bounce adds nothing; failed is final.
        return False
    if new in NEGATIVE:
        return True
    return PROGRESS_RANK[new] > PROGRESS_RANK[current]


def status_event(message: Message, status: str, occurred_at: datetime) -> MessageStatusUpdate:
    """The ``message_status_update`` notification for a move of ``message`` to ``status``."""
    recipient_ids = message.recipient_message_ids or {}
    return MessageStatusUpdate(
        process_id=str(message.process.uuid),
        message_type=message.channel,
        message_id=message.id,
        recipient_specific_message_id=recipient_ids.get(message.recipient)
        or message.provider_message_id
        or None,
        recipient=message.recipient,
        status=status,
        timestamp=occurred_at,
        original_payload=message.process.original_payload,
    )


@transaction.atomic
def record_status(
    message: Message,
    status: str,
    *,
    source: str,
    occurred_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
    dedupe_key: str = "",
    emit: bool = True,
) -> bool:
    """Append a status report; advance and notify when it is news. True when it advanced.

    Locks the message row so concurrent callbacks for one message serialise.
    """
    from doxie.webhooks.services import emit as emit_webhook

    occurred_at = occurred_at or timezone.now()
    # Only the message row: FOR UPDATE on the joined tenant/process rows would serialise
    # every status update of a tenant (and block tenant and process writes meanwhile).
    locked = (
        Message.objects.select_for_update(of=("self",))
        .select_related("process", "tenant")
        .get(pk=message.pk)
    )
    try:
        with savepoint():
            MessageStatusEvent.objects.create(
                tenant_id=locked.tenant_id, message=locked, status=status,
                occurred_at=occurred_at, source=source, detail=detail or {},
                dedupe_key=dedupe_key[:255],
            )
    except IntegrityError:
        return False  # the same provider event again
    listeners.notify(locked, status, occurred_at)
    if not may_advance(locked.status, status):
        return False
    locked.status = status
    if detail and detail.get("reason"):
        locked.status_reason = str(detail["reason"])[:2000]
    locked.save(update_fields=["status", "status_reason", "updated_at"])
    message.status = status
    if emit:
        emit_webhook(tenant=locked.tenant, event=status_event(locked, status, occurred_at))
    return True
