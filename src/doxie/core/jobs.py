"""The procrastinate app and the conventions every task follows.

Tasks are registered with explicit, stable names (``"<app>.<verb>"``) because the name is
what is stored in the jobs table: renaming a function must not orphan queued jobs.
Deferring from a service uses Django's connection, so the job row is written in the same
transaction as the domain rows and disappears with them on rollback.
"""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

# Capped exponential back-off for tasks whose failure is transient (a database blip).
DEFAULT_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)

__all__ = ["DEFAULT_RETRY", "app"]
