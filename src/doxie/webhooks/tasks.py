"""Procrastinate jobs for webhooks. Names are stable: they are stored in the jobs table.

* ``webhooks.drain`` — deliver everything due for one endpoint (deferred by ``emit`` with a
  queueing lock per endpoint, so at most one waits per endpoint).
* ``webhooks.sweep`` — every minute: release leases of dead workers and wake drainers for
  endpoints with due rows whose wake-up was lost (the core drain engine's sweep).
* ``webhooks.purge`` — hourly: the interaction log's retention.

All three are idempotent: running one twice delivers nothing twice (rows are claimed under
``SKIP LOCKED`` and finished rows are never claimed again) and corrupts nothing.
"""

from __future__ import annotations

from doxie.core.jobs import app
from doxie.webhooks import delivery, services


@app.task(name="webhooks.drain")
async def drain(endpoint_id: int) -> int:
    """Deliver the endpoint's due interactions; returns the number of attempts made."""
    return await delivery.drain_endpoint(endpoint_id)


@app.periodic(cron="* * * * *", periodic_id="webhooks.sweep")
@app.task(name="webhooks.sweep", queueing_lock="webhooks.sweep")
def sweep(timestamp: int | None = None) -> dict[str, int]:
    """The safety net: release leases of dead workers, wake drainers of endpoints with due
    rows whose wake-up was lost (retries normally get a scheduled drainer)."""
    return delivery.DRAIN.sweep()


@app.periodic(cron="17 * * * *", periodic_id="webhooks.purge")
@app.task(name="webhooks.purge", queueing_lock="webhooks.purge")
def purge(timestamp: int | None = None) -> int:
    """Delete interactions past the tenant's ``webhook_interaction_storage_duration_in_days``."""
    return services.purge_expired_interactions()
