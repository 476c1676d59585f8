"""Webhooks' metrics: delivery outcomes (counter) and the due backlog (read at scrape).

The backlog is read from the partial index ``wh_int_due`` (only ``pending`` rows)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection

from doxie.core.metrics import WEBHOOK_DELIVERIES, Sample
from doxie.webhooks.models import WebhookInteraction

_DEPTH_SQL = f"""
    SELECT count(*), EXTRACT(EPOCH FROM now() - min(next_attempt_at))
    FROM {WebhookInteraction._meta.db_table}
    WHERE status = 'pending' AND next_attempt_at <= now()
"""  # noqa: S608 - table name is ours


def record_delivery(outcome: str) -> None:
    """``delivered``, ``retry`` or ``failed`` (a bounded label set)."""
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def queue_samples() -> Iterator[Sample]:
    with connection.cursor() as cursor:
        cursor.execute(_DEPTH_SQL)
        count, age = cursor.fetchone()
    yield Sample("doxie_webhook_queue_depth", "Webhook deliveries due and not yet sent",
                 float(count or 0))
    yield Sample("doxie_webhook_oldest_due_seconds",
                 "Age of the oldest due webhook delivery not yet picked up", float(age or 0))
