"""How any app puts messages on the delivery queue (the Mailer, consent DOI, journeys…).

Call inside the caller's ``transaction.atomic()``: the rows and the drainer job commit or
vanish together. One drainer per brand is kept pending through a queueing lock, so a burst of
10 000 messages defers one job, not 10 000.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.utils import timezone
from procrastinate import exceptions as procrastinate_exceptions

from doxie.core.db import savepoint
from doxie.core.jobs import app
from doxie.messaging.models import Channel, Message, MessageStatus, MessageStatusEvent
from doxie.processes.models import Process

DRAIN_TASK = "messaging.drain_brand"


def drain_lock(brand_id: int) -> str:
    return f"messaging.drain:{brand_id}"


_PENDING_DRAINER = (
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s "
    "AND status = 'todo')"
)


def defer_drain(brand_id: int) -> None:
    """Make sure a drainer for the brand is pending (no-op when one already is).

    During a burst a drainer is nearly always pending already: one indexed look-up answers
    that, instead of a savepoint, a deferral that fails on the queueing lock's unique index
    and a rollback (plus an error line in the PostgreSQL log) on every request. The deferral
    below still handles the race where two requests both see no pending drainer.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PENDING_DRAINER, [drain_lock(brand_id)])
        if cursor.fetchone()[0]:
            return
    try:
        with savepoint():  # savepoint: a lock conflict must not poison the caller
            app.configure_task(
                DRAIN_TASK, queueing_lock=drain_lock(brand_id), allow_unknown=True
            ).defer(brand_id=brand_id)
    except procrastinate_exceptions.AlreadyEnqueued:
        pass


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
    caller set a later ``next_attempt_at`` (a scheduled send; the periodic sweep wakes it).
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
    """Defer one drainer per brand that has newly queued rows (no-op when one waits)."""
    for brand_id in sorted({row.brand_id for row in rows if row.status == MessageStatus.QUEUED}):
        defer_drain(brand_id)
