"""Deferring drainer jobs: at most one waiting drainer per endpoint (the core drain engine's
``DrainQueue``).

The queueing lock ``webhooks.drain:{endpoint_id}`` lets procrastinate hold one *todo*
drainer per endpoint; the waiting one is reused (it will find the new rows). Tasks are
addressed by their stable name so this module does not import ``tasks`` (which imports the
delivery engine, which imports ``services``, which defers). Deferral uses the caller's
transaction: a rollback removes the jobs with the rows they serve.
"""

from __future__ import annotations

from collections.abc import Iterable

from doxie.core.drain import SCHEDULED_SUFFIX, DrainQueue

#: Task name and lock prefix are stored in the jobs table: keep them.
QUEUE: DrainQueue[int] = DrainQueue(
    task_name="webhooks.drain", lock_prefix="webhooks.drain", key_arg="endpoint_id"
)
DRAIN_TASK = QUEUE.task_name
#: The lock of an endpoint's scheduled drainer (soonest retry), so a scheduled (future) job
#: never blocks the immediate drainer of newly emitted events.
RETRY_SUFFIX = SCHEDULED_SUFFIX


def drain_lock(endpoint_id: int, suffix: str = "") -> str:
    return QUEUE.lock(endpoint_id, scheduled=suffix == RETRY_SUFFIX)


def defer_drainers(endpoint_ids: Iterable[int]) -> int:
    """Make sure a drainer is waiting for each endpoint; returns how many were newly
    deferred (a fixed handful of queries whatever the number of endpoints)."""
    return QUEUE.defer(endpoint_ids)
