"""The procrastinate app and the conventions every task follows.

Tasks are registered with explicit, stable names (``"<app>.<verb>"``) because the name is
what is stored in the jobs table: renaming a function must not orphan queued jobs.
Deferring from a service uses Django's connection, so the job row is written in the same
transaction as the domain rows and disappears with them on rollback.
"""

from __future__ import annotations

from typing import Any

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from doxie.core import logs

# Capped exponential back-off for tasks whose failure is transient (a database blip).
DEFAULT_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)


async def log_context(call_next: Any, context: Any, worker: Any) -> Any:
    """Worker middleware: every log line of a job carries ``job-<id>`` as its request id
    (and a drain run binds the tenant and process of what it sends, where it knows them)."""
    with logs.bind(request_id=f"job-{context.job.id}", tenant=None, process=None):
        return await call_next()


__all__ = ["DEFAULT_RETRY", "app", "log_context"]
