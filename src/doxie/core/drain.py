"""The drain engine: rows with a due time, drained in batches by one procrastinate job per key.

Message delivery (key: brand), webhook delivery (key: endpoint) and the journey scheduler
(key: whatever shards its runs) share one shape of work: rows become due, a drainer job
claims a batch of them under a lease, does the slow part without a transaction open, records
the outcome and loops until nothing is due. This module is that shape, once; an app supplies
only a ``DrainSpec`` (its claim query and its per-batch step) and stays ignorant of jobs.

The parts:

* **Defer-once per key** (``DrainQueue.defer``): at most one *waiting* drainer per key,
  through procrastinate's queueing lock. One indexed look-up finds the locks already waiting
  (so a burst costs no failing INSERT per request), one batch INSERT defers the rest, and a
  per-job fallback inside savepoints handles the race with a concurrent transaction. Runs in
  the caller's transaction: rows and their drainer commit or vanish together.
* **Precise wake-ups** (``DrainQueue.wake_at``): a key whose earliest row is due in the
  future gets one *scheduled* drainer under a second lock (``<lock>:retry``), scheduled at
  that due time and moved earlier (never later) when a sooner row appears. A separate lock
  so a scheduled job never blocks the immediate drainer new rows defer. A row due in 2 s
  runs about 2 s later (plus the worker's polling interval, ``fetch_job_polling_interval``
  in ``PROCRASTINATE_WORKER_DEFAULTS``), not at the next minute's sweep.
* **Leased claims** (``DrainSpec.claim``): the app's claim query takes due rows with
  ``FOR UPDATE SKIP LOCKED`` and marks them with the run's lease token and an expiry, in its
  own short transaction, before any I/O. Every later write of the app is guarded by that
  token, so a run whose lease expired cannot overwrite a newer claim: a drain running twice
  still does each row's work once.
* **The budgeted loop with hand-over** (``Drainer.run``): claim -> process until nothing is
  due or the time budget is spent; then the run defers its successor and leaves, so one busy
  key never holds a worker slot for ever. Before leaving for lack of work it asks
  ``next_due``: due now (a row queued while the run was finishing) -> loop again; due later ->
  ``wake_at``. A batch marked ``fan_out`` defers one more drainer per run (several workers
  for one busy key, when the app allows concurrent runs).
* **The sweep** (``Drainer.sweep``, run every minute by each app's periodic task): releases
  the leases of dead workers (``release_expired``) and wakes a drainer for every key with due
  rows (``due_keys``): the safety net for lost jobs, never the normal path.
* **Batched purges** (``in_batches``/``delete_in_batches``): retention work in bounded
  batches, each its own short transaction, under a shared budget of batches per run.

What later work plugs in where: pipelining (the next claim overlapping the current sends)
lives inside ``Drainer.run`` between ``claim`` and ``process`` without changing specs, since
every step is already token-guarded and transaction-free across awaits; a per-key circuit
breaker is a spec whose ``claim`` returns no rows while open and whose ``next_due`` answers
the next probe time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Job

from doxie.core.db import savepoint
from doxie.core.jobs import app

log = logging.getLogger("doxie.drain")

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

#: Suffix of the scheduled (future) drainer's queueing lock; kept from the first engines so
#: jobs already waiting in the queue keep deduplicating.
SCHEDULED_SUFFIX = ":retry"
#: When due rows could not be claimed (locked by a concurrent transaction), look again then.
RETRY_SOON = timedelta(seconds=5)

_LOWER_SCHEDULED = (
    "UPDATE procrastinate_jobs SET scheduled_at = LEAST(scheduled_at, %s) "
    "WHERE queueing_lock = %s AND status = 'todo' AND scheduled_at IS NOT NULL RETURNING id"
)


_shutdown = threading.Event()


def begin_shutdown() -> None:
    """The worker got SIGTERM: every run hands over at its next batch boundary.

    The batch in flight finishes and is recorded (no send is cut off half-way, so nothing is
    sent twice); the successor job it defers is taken by another worker, or by this one after
    its restart (nothing waits for a lease to expire)."""
    _shutdown.set()


def shutting_down() -> bool:
    return _shutdown.is_set()


def end_shutdown() -> None:
    """Tests and an in-process restart: runs drain normally again."""
    _shutdown.clear()


def fresh_connection() -> None:
    """Workers keep one DB thread for hours: drop a dead or expired connection first.

    Skipped inside an atomic block (tests run the drain inside their transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


# --- deferral ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrainQueue(Generic[K]):
    """Which procrastinate task drains a key, and under which queueing lock.

    The deferring half of the engine, importable by an app's write path (``enqueue``,
    ``emit``) without the delivery code. Task names and lock prefixes are stored in the jobs
    table: never rename them.
    """

    task_name: str  # e.g. "messaging.drain_brand"
    lock_prefix: str  # e.g. "messaging.drain" -> lock "messaging.drain:42"
    key_arg: str  # the task's keyword argument carrying the key, e.g. "brand_id"

    def lock(self, key: K, *, scheduled: bool = False) -> str:
        return f"{self.lock_prefix}:{key}{SCHEDULED_SUFFIX if scheduled else ''}"

    def _job(self, key: K, lock: str, at: datetime | None = None) -> Job:
        options: dict[str, Any] = {"queueing_lock": lock}
        if at is not None:
            options["schedule_at"] = at
        return app.configure_task(name=self.task_name, allow_unknown=True, **options) \
            .make_new_job(**{self.key_arg: key})

    def defer(self, keys: Iterable[K]) -> int:
        """Make sure a drainer is waiting for each key; returns how many were newly deferred.

        Cost does not grow with the number of keys: one query finds the drainers already
        waiting, one batch insert defers the rest (per-key fallback only when a concurrent
        transaction deferred the same lock in between). Call inside the caller's transaction.
        """
        wanted = {self.lock(key): key for key in dict.fromkeys(keys)}
        if not wanted:
            return 0
        waiting = set(
            ProcrastinateJob.objects.filter(status="todo", queueing_lock__in=list(wanted))
            .values_list("queueing_lock", flat=True)
        )
        jobs = [self._job(key, lock) for lock, key in wanted.items() if lock not in waiting]
        if not jobs:
            return 0
        try:
            with savepoint():  # a lock conflict must not poison the caller's transaction
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

    def wake_at(self, key: K, at: datetime) -> None:
        """A drainer for ``key`` at ``at`` (immediately when ``at`` is not in the future).

        One scheduled drainer per key: an existing one is moved earlier when ``at`` is
        sooner, and left alone when it is already due by then.
        """
        if at <= timezone.now():
            self.defer([key])
            return
        lock = self.lock(key, scheduled=True)
        with connection.cursor() as cursor:
            cursor.execute(_LOWER_SCHEDULED, [at, lock])
            if cursor.fetchone() is not None:
                return
        try:
            with savepoint():
                app.job_manager.defer_job(job=self._job(key, lock, at))
        except procrastinate_exceptions.AlreadyEnqueued:  # deferred concurrently: lower it
            with connection.cursor() as cursor:
                cursor.execute(_LOWER_SCHEDULED, [at, lock])

    def wake(self, due: Iterable[tuple[K, datetime]]) -> None:
        """Wake each key at its earliest due time: due keys in one batch, future ones each
        at their own time (the write path of rows that may be due later, e.g. journeys)."""
        now = timezone.now()
        earliest: dict[K, datetime] = {}
        for key, at in due:
            earliest[key] = min(at, earliest.get(key, at))
        self.defer(key for key, at in earliest.items() if at <= now)
        for key, at in earliest.items():
            if at > now:
                self.wake_at(key, at)


# --- the spec an app supplies -----------------------------------------------------------------


@dataclass
class Run(Generic[K]):
    """One drainer run: its key, its lease token (written on every claimed row) and a memo
    the spec keeps state in between batches (a rate limiter, an HTTP client override)."""

    key: K
    token: str
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch(Generic[R]):
    """What a claim took. ``rows`` are the rows to process; ``claimed`` says rows were taken
    at all (some may have been settled during the claim, e.g. cancelled instead of sent);
    ``fan_out`` asks the engine for one more concurrent drainer (the batch was full and the
    app allows another run)."""

    rows: list[R]
    claimed: bool
    fan_out: bool = False
    context: Any = None  # whatever the step needs beside the rows (the brand, the target)


class DrainSpec(ABC, Generic[K, R]):
    """An app's part of a drain: its claim query and its per-batch step, nothing about jobs.

    ``claim``, ``release``, ``next_due``, ``release_expired`` and ``due_keys`` are
    synchronous database steps (each its own transaction; the engine calls them through
    ``sync_to_async`` with a fresh connection); ``process`` is async and must not touch the
    database except through ``sync_to_async``.
    """

    #: Seconds a run may work before handing over (overridden per app through a setting).
    budget: ClassVar[float] = 60.0

    def time_budget(self) -> float:
        return self.budget

    @abstractmethod
    def claim(self, run: Run[K]) -> Batch[R] | None:
        """Claim due rows with ``FOR UPDATE SKIP LOCKED`` under ``run.token``.

        None: this run cannot drain the key now (the key is gone, or every concurrency slot
        is held by runs that will loop until nothing is due) and leaves at once."""

    @abstractmethod
    async def process(self, run: Run[K], batch: Batch[R]) -> int:
        """Do the batch's work and record it (token-guarded); returns the rows processed."""

    @abstractmethod
    def next_due(self, key: K) -> datetime | None:
        """When the key's earliest unclaimed row falls due (None: nothing waits)."""

    def release(self, run: Run[K]) -> None:  # noqa: B027 - optional hook
        """The run leaves: give back whatever the claim held beside rows (a slot lease)."""

    def release_claimed(self, run: Run[K]) -> int:
        """The run was cancelled (shutdown past its grace period) between claim and record:
        make the rows it still holds under ``run.token`` due again now, instead of waiting
        for their lease to expire. Returns the rows released (optional hook: 0)."""
        return 0

    @abstractmethod
    def release_expired(self, now: datetime) -> int:
        """Sweep: rows whose lease expired (their worker died) become due again."""

    @abstractmethod
    def due_keys(self, now: datetime) -> Sequence[K]:
        """Sweep: every key with due rows that a drainer should serve."""


# --- the engine -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drainer(Generic[K, R]):
    """The budgeted loop and the sweep over one ``DrainSpec`` (see the module docstring)."""

    queue: DrainQueue[K]
    spec: DrainSpec[K, R]

    def _step(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            fresh_connection()
            return fn(*args)

        return sync_to_async(call)

    async def run(self, key: K, *, budget: float | None = None,
                  memo: dict[str, Any] | None = None) -> int:
        """Drain everything due for ``key``; returns the number of rows processed.

        After ``budget`` seconds the run hands over to a fresh drainer job. Before leaving
        for lack of work it checks ``next_due`` (up to three times: rows locked by another
        transaction are not claimable yet) and schedules the wake-up of future rows.
        """
        budget = self.spec.time_budget() if budget is None else budget
        deadline = time.monotonic() + budget
        run = Run(key, secrets.token_hex(16), memo or {})
        done = 0
        fanned_out = False
        for _recheck in range(3):
            while True:
                if shutting_down():
                    await self._step(self._hand_over)(run)
                    log.info("drainer %s handed over: worker stopping", self.queue.lock(key))
                    return done
                batch = await self._step(self.spec.claim)(run)
                if batch is None:
                    return done
                if not batch.claimed:
                    break
                if batch.fan_out and not fanned_out:
                    await self._step(self._defer_one)(key)
                    fanned_out = True
                if batch.rows:
                    done += await self._process(run, batch)
                if time.monotonic() > deadline:
                    await self._step(self._hand_over)(run)
                    log.debug("drainer %s handed over after its budget", self.queue.lock(key))
                    return done
            await self._step(self.spec.release)(run)
            due = await self._step(self.spec.next_due)(key)
            if due is None:
                return done
            if due > timezone.now():
                await self._step(self._wake_at)(key, due)
                return done
        await self._step(self._wake_at)(key, timezone.now() + RETRY_SOON)
        return done

    async def _process(self, run: Run[K], batch: Batch[R]) -> int:
        """The spec's step; cancelled (the worker's grace period ran out), the run gives its
        rows and slot back and defers its successor before the cancellation goes on."""
        try:
            return await self.spec.process(run, batch)
        except asyncio.CancelledError:
            await asyncio.shield(self._step(self._give_back)(run))
            raise

    def _give_back(self, run: Run[K]) -> None:
        released = self.spec.release_claimed(run)
        self._hand_over(run)
        log.warning("drainer %s cancelled: %d claimed rows made due again",
                    self.queue.lock(run.key), released)

    def _defer_one(self, key: K) -> None:
        with transaction.atomic():
            self.queue.defer([key])

    def _wake_at(self, key: K, at: datetime) -> None:
        with transaction.atomic():
            self.queue.wake_at(key, at)

    def _hand_over(self, run: Run[K]) -> None:
        self.spec.release(run)
        self._defer_one(run.key)

    def sweep(self) -> dict[str, int]:
        """Release dead workers' leases, then wake a drainer for every key with due rows.

        Idempotent: a second sweep releases nothing and reuses the waiting drainers. Returns
        ``{"released": rows made due again, "drainers": keys with due rows}``."""
        now = timezone.now()
        with transaction.atomic():
            released = self.spec.release_expired(now)
        keys = list(self.spec.due_keys(timezone.now()))
        with transaction.atomic():
            self.queue.defer(keys)
        return {"released": released, "drainers": len(keys)}


# --- batched purges ---------------------------------------------------------------------------


class BatchBudget:
    """How many batches one housekeeping run may still do (shared across its loops), so a
    huge backlog is worked off over several runs instead of one endless one."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def in_batches(fetch: Callable[[int], list[Any]], step: Callable[[list[Any]], int], *,
               batch_size: int, budget: BatchBudget) -> int:
    """``step`` over what ``fetch(batch_size)`` answers, batch by batch, each step in its own
    transaction, until a short batch or the budget ends it; returns the sum of the steps."""
    total = 0
    while budget.take():
        items = fetch(batch_size)
        if items:
            with transaction.atomic():
                total += step(items)
        if len(items) < batch_size:
            break
    return total


def delete_in_batches(queryset: QuerySet[Any], *, batch_size: int, budget: BatchBudget) -> int:
    """Delete ``queryset``'s rows (in its order) in bounded batches; returns the number of
    rows of its model deleted (cascaded rows are not counted)."""
    model: type[Model] = queryset.model

    def fetch(size: int) -> list[Any]:
        return list(queryset.values_list("pk", flat=True)[:size])

    def delete(ids: list[Any]) -> int:
        return model._default_manager.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)

    return in_batches(fetch, delete, batch_size=batch_size, budget=budget)
