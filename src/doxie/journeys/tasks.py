"""Journey jobs: the drainer per tenant and the minute's sweep (stable names: stored)."""

from __future__ import annotations

from doxie.core.jobs import app
from doxie.journeys.engine import DRAINER


@app.task(name="journeys.drain")
async def drain(tenant_id: int) -> int:
    """Advance the tenant's due runs until none is due (then schedule the next wake-up)."""
    return await DRAINER.run(tenant_id)


@app.periodic(cron="* * * * *", periodic_id="journeys.sweep")
@app.task(name="journeys.sweep", queueing_lock="journeys.sweep")
def sweep(timestamp: int | None = None) -> dict[str, int]:
    """Safety net: expired leases (dead workers) become due again; due tenants are woken."""
    return DRAINER.sweep()
