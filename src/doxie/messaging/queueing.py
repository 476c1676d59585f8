"""How any app puts messages on the delivery queue (the Mailer, consent DOI, journeys…).

Call inside the caller's ``transaction.atomic()``: the rows and the drainer job commit or
vanish together. One drainer per brand is kept pending through a queueing lock, so a burst of
10 000 messages defers one job, not 10 000 (the core drain engine's ``DrainQueue``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from doxie.core.drain import DrainQueue
from doxie.messaging.models import Channel, Message, MessageStatus, MessageStatusEvent
from doxie.processes.models import Process

#: The brand drainer's task and queueing lock (both stored in the jobs table: keep them).
QUEUE: DrainQueue[int] = DrainQueue(
    task_name="messaging.drain_brand", lock_prefix="messaging.drain", key_arg="brand_id"
)


def build_email(
    *, process: Process, brand, recipient: str, sender: str, subject: str, html: str = "",
    text: str = "", sender_name: str = "", reply_to: str = "", template_name: str = "",
    event=None, headers: dict[str, str] | None = None,
) -> Message:
    """An unsaved email message row; pass a list of them to ``enqueue``."""
    return Message(
        tenant_id=process.tenant_id, process=process, brand=brand, event=event,
        channel=Channel.EMAIL, template_name=template_name, recipient=recipient,
        sender=sender, sender_name=sender_name, reply_to=reply_to, subject=subject,
        html=html, text=text, headers=headers or {},
    )


def build_sms(
    *, process: Process, brand, recipient: str, text: str, sender: str = "",
    template_name: str = "", event=None,
) -> Message:
    return Message(
        tenant_id=process.tenant_id, process=process, brand=brand, event=event,
        channel=Channel.SMS, template_name=template_name, recipient=recipient, sender=sender,
        text=text,
    )


def build_rcs(
    *, process: Process, brand, recipient: str, content: dict, sender: str = "",
    template_name: str = "", event=None,
) -> Message:
    return Message(
        tenant_id=process.tenant_id, process=process, brand=brand, event=event,
        channel=Channel.RCS, template_name=template_name, recipient=recipient, sender=sender,
        rcs_content=content, text=str(content.get("text", "")),
    )


def enqueue(messages: Iterable[Message]) -> list[Message]:
    """Insert queued messages (and their first history row) and wake each brand's drainer.

    Messages whose status is already set to something else (``suppressed``) are stored as
    the record of a decision but are not queued. A queued message is due at once unless the
    caller set a later ``next_attempt_at`` (a scheduled send: its drainer is scheduled then).
    """
    rows = insert_messages(messages)
    wake_drainers(rows)
    return rows


def insert_messages(messages: Iterable[Message]) -> list[Message]:
    """The writing half of ``enqueue``; callers that write more rows afterwards (tracked
    links) call ``wake_drainers`` last, so the drainer job's queueing lock is held for as
    short a time as possible (concurrent requests for the same brand wait on it)."""
    rows = list(messages)
    if not rows:
        return rows
    now = timezone.now()
    for row in rows:
        row.status = row.status or MessageStatus.QUEUED
        if row.status == MessageStatus.QUEUED and row.next_attempt_at is None:
            row.next_attempt_at = now
    Message.objects.bulk_create(rows)
    MessageStatusEvent.objects.bulk_create(
        [
            MessageStatusEvent(
                tenant_id=row.tenant_id, message=row, status=row.status,
                occurred_at=row.created_at, detail=(
                    {"reason": row.status_reason} if row.status_reason else {}
                ),
            )
            for row in rows
        ]
    )
    return rows


def wake_drainers(rows: Iterable[Message]) -> None:
    """One drainer per brand that has newly queued rows (no-op when one waits): now for
    rows due now, at their due time for rows scheduled later."""
    QUEUE.wake(
        (row.brand_id, row.next_attempt_at or timezone.now())
        for row in rows if row.status == MessageStatus.QUEUED
    )
