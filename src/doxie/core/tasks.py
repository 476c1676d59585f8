"""Housekeeping tasks owned by core."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from doxie.core.jobs import app
from doxie.core.models import RateCounter


@app.periodic(cron="*/15 * * * *", periodic_id="core.purge_rate_counters")
@app.task(name="core.purge_rate_counters", queueing_lock="core.purge_rate_counters")
def purge_rate_counters(timestamp: int | None = None) -> int:
    """Expired rate-limit windows are useless; keep the table small."""
    deleted, _ = RateCounter.objects.filter(
        window_start__lt=timezone.now() - timedelta(days=1)
    ).delete()
    return deleted


@app.task(name="core.echo")
def echo(value: str) -> str:
    """A no-op job used to prove transactional deferral end to end."""
    return value
