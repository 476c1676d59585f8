"""Periodic survey jobs: reminders and retention (idempotent; stable names)."""

from __future__ import annotations

from doxie.core.jobs import app
from doxie.surveys import services


@app.periodic(cron="*/5 * * * *", periodic_id="surveys.remind")
@app.task(name="surveys.remind", queueing_lock="surveys.remind")
def remind(timestamp: int | None = None) -> int:
    """One reminder for each unfinished inquiry whose ``reminder_after_days`` have passed."""
    return services.send_due_reminders()


@app.periodic(cron="47 * * * *", periodic_id="surveys.retention")
@app.task(name="surveys.retention", queueing_lock="surveys.retention")
def retention(timestamp: int | None = None) -> dict[str, int]:
    """The brands' retention rules for inquiries and responses."""
    return services.apply_retention()
