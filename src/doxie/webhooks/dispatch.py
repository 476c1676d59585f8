"""Deferring drainer jobs: at most one waiting drainer per endpoint.

The queueing lock ``webhooks.drain:{endpoint_id}`` lets procrastinate hold one *todo*
drainer per endpoint; a second defer while one is waiting raises ``AlreadyEnqueued`` and the
waiting one is reused (it will find the new rows). Tasks are addressed by their stable name
so this module does not import ``tasks`` (which imports the delivery engine, which defers).

Deferral uses the Django connection, i.e. the caller's transaction: a rollback removes the
jobs with the rows they serve. PostgreSQL aborts a transaction on a unique violation, so
every attempt that may collide runs inside a savepoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Job

from doxie.core.db import savepoint
from doxie.core.jobs import app

DRAIN_TASK = "webhooks.drain"
#: Drainers deferred for a soon-due retry use their own lock, so a scheduled (future) job
#: never blocks the immediate drainer of newly emitted events.
RETRY_SUFFIX = ":retry"


def drain_lock(endpoint_id: int, suffix: str = "") -> str:
    return f"{DRAIN_TASK}:{endpoint_id}{suffix}"


def _job(endpoint_id: int, lock: str, delay: timedelta | None) -> Job:
    options: dict = {"queueing_lock": lock}
    if delay is not None:
        options["schedule_in"] = {"seconds": max(0, int(delay.total_seconds()))}
    return app.configure_task(name=DRAIN_TASK, **options).make_new_job(endpoint_id=endpoint_id)


def defer_drainers(endpoint_ids: Iterable[int], *, delay: timedelta | None = None) -> int:
    """Make sure a drainer is waiting for each endpoint; returns how many were newly deferred.

    Cost does not grow with the number of endpoints: one query finds the drainers already
    waiting, one batch insert defers the rest (per-endpoint fallback only when a concurrent
    transaction deferred the same lock in between).
    """
    suffix = RETRY_SUFFIX if delay is not None else ""
    wanted = {drain_lock(eid, suffix): eid for eid in dict.fromkeys(endpoint_ids)}
    if not wanted:
        return 0
    waiting = set(
        ProcrastinateJob.objects.filter(status="todo", queueing_lock__in=list(wanted))
        .values_list("queueing_lock", flat=True)
    )
    todo = [(lock, eid) for lock, eid in wanted.items() if lock not in waiting]
    if not todo:
        return 0
    jobs = [_job(eid, lock, delay) for lock, eid in todo]
    try:
        with savepoint():
            app.job_manager.batch_defer_jobs(jobs=jobs)
        return len(jobs)
    except procrastinate_exceptions.AlreadyEnqueued:
        pass
    deferred = 0
    for job in jobs:
        try:
            with savepoint():
                app.job_manager.defer_job(job=job)
            deferred += 1
        except procrastinate_exceptions.AlreadyEnqueued:
            continue  # a drainer is already waiting: it will pick our rows up
    return deferred
