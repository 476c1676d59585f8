"""Procrastinate jobs for consents. Names are stable: they are stored in the jobs table.

* ``consents.expire`` — every five minutes: pending consents past their confirmation
  validity become ``expired`` (with a ledger entry each), in bounded batches. Idempotent:
  an expired consent is never selected again, and concurrent runs skip each other's rows.
"""

from __future__ import annotations

from doxie.consents import lifecycle
from doxie.core.jobs import app


@app.periodic(cron="*/5 * * * *", periodic_id="consents.expire")
@app.task(name="consents.expire", queueing_lock="consents.expire")
def expire(timestamp: int | None = None) -> int:
    """Links past their validity must stop working, and the proof must say when and why."""
    return lifecycle.expire_due()
