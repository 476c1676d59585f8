"""Messaging's metrics: send outcomes and send time (counters), queue depth (at scrape).

The queue depth is read from the drainer's partial index ``msg_due_idx`` (only ``queued``
rows are in it), so a scrape costs what the queue holds, never a scan of sent history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection

from doxie.core.metrics import MESSAGE_SEND_DURATION, MESSAGES, Sample
from doxie.messaging.models import Channel, Message

_DEPTH_SQL = f"""
    SELECT channel, count(*), EXTRACT(EPOCH FROM now() - min(next_attempt_at))
    FROM {Message._meta.db_table}
    WHERE status = 'queued' AND next_attempt_at <= now()
    GROUP BY channel
"""  # noqa: S608 - table name is ours


def record_outcomes(outcomes: Iterable[Any]) -> None:
    """Count a recorded batch (``delivery.Outcome``: channel, kind, provider, seconds)."""
    for o in outcomes:
        MESSAGES.labels(o.row.channel, o.kind).inc()
        MESSAGE_SEND_DURATION.labels(o.provider or "none").observe(o.seconds)


def queue_samples() -> Iterator[Sample]:
    """``doxie_message_queue_depth{channel}`` (due, not yet sent) and the oldest due age."""
    with connection.cursor() as cursor:
        cursor.execute(_DEPTH_SQL)
        rows = {channel: (count, age) for channel, count, age in cursor.fetchall()}
    oldest = 0.0
    for channel in Channel.values:
        count, age = rows.get(channel, (0, None))
        oldest = max(oldest, float(age or 0))
        yield Sample("doxie_message_queue_depth", "Messages due and not yet sent",
                     float(count), {"channel": channel})
    yield Sample("doxie_message_oldest_due_seconds",
                 "Age of the oldest due message not yet picked up", oldest)
