"""The core drain engine on its own: a minimal spec over a table of its own (rows with a due
time, as journey runs will be), real PostgreSQL, a real procrastinate worker.

What the apps' delivery tests prove for messages and webhooks, proven once for the engine:
defer-once per key, precise scheduled wake-ups (a row due in 2 s runs about 2 s later, with
no sweep running), lease expiry recovery by the sweep, hand-over after the budget, exactly
once per row when two runs race, and batched purges.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from doxie.core.drain import (
    Batch,
    BatchBudget,
    Drainer,
    DrainQueue,
    DrainSpec,
    Run,
    delete_in_batches,
    in_batches,
)
from doxie.core.jobs import app
from doxie.core.models import RateCounter

TABLE = "test_drain_item"
TEST_QUEUE = "drain_test"


class ItemDrain(DrainSpec[int, int]):
    """The smallest real spec: claim due items of a key under a lease, mark them done."""

    batch = 3
    lease = timedelta(minutes=1)

    def claim(self, run: Run[int]) -> Batch[int] | None:
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {TABLE} SET status = 'claimed', lease_token = %(token)s,
                           claimed_until = %(until)s
                    WHERE id IN (SELECT id FROM {TABLE}
                                 WHERE key = %(key)s AND status = 'due' AND due_at <= %(now)s
                                 ORDER BY due_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                    RETURNING id""",  # noqa: S608 - test table
                {"token": run.token, "until": now + self.lease, "key": run.key, "now": now,
                 "limit": self.batch},
            )
            ids = sorted(row[0] for row in cursor.fetchall())
        return Batch(ids, bool(ids))

    async def process(self, run: Run[int], batch: Batch[int]) -> int:
        return await sync_to_async(self.record)(run.token, batch.rows)

    def record(self, token: str, ids: list[int]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {TABLE} SET status = 'done', runs = runs + 1,
                           done_at = clock_timestamp(), lease_token = NULL
                    WHERE id = ANY(%s) AND lease_token = %s AND status = 'claimed'""",  # noqa: S608
                [ids, token],
            )
            return cursor.rowcount

    def next_due(self, key: int) -> datetime | None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT min(due_at) FROM {TABLE} WHERE key = %s AND status = 'due'",  # noqa: S608
                [key],
            )
            return cursor.fetchone()[0]

    def release_expired(self, now: datetime) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {TABLE} SET status = 'due', lease_token = NULL, claimed_until = NULL,
                           due_at = %(now)s
                    WHERE status = 'claimed' AND claimed_until < %(now)s""",  # noqa: S608
                {"now": now},
            )
            return cursor.rowcount

    def due_keys(self, now: datetime) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT key FROM {TABLE} WHERE status = 'due' AND due_at <= %s "  # noqa: S608
                "ORDER BY key",
                [now],
            )
            return [row[0] for row in cursor.fetchall()]


QUEUE: DrainQueue[int] = DrainQueue(task_name="tests.drain_items", lock_prefix="tests.drain",
                                    key_arg="key")
DRAIN: Drainer[int, int] = Drainer(QUEUE, ItemDrain())


@app.task(name="tests.drain_items", queue=TEST_QUEUE)
async def drain_items(key: int) -> int:
    return await DRAIN.run(key)


@pytest.fixture
def items() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {TABLE} (
                    id bigserial PRIMARY KEY, key int NOT NULL, status text NOT NULL DEFAULT 'due',
                    due_at timestamptz NOT NULL, claimed_until timestamptz, lease_token text,
                    runs int NOT NULL DEFAULT 0, done_at timestamptz)"""
        )
        cursor.execute(f"TRUNCATE {TABLE}")
        cursor.execute("DELETE FROM procrastinate_jobs")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute("DELETE FROM procrastinate_jobs")


def add(key: int, n: int = 1, due: datetime | None = None) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (key, due_at) SELECT %s, %s FROM generate_series(1, %s) "  # noqa: S608
            "RETURNING id",
            [key, due or timezone.now(), n],
        )
        return sorted(row[0] for row in cursor.fetchall())


def rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, status, runs, due_at, done_at FROM {TABLE} ORDER BY id")  # noqa: S608
        return cursor.fetchall()


def todo(lock: str) -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(status="todo", queueing_lock=lock))


def drain(key: int, **kw) -> int:
    return async_to_sync(DRAIN.run)(key, **kw)


# --- defer-once and wake-ups ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_defer_once_per_key():
    assert QUEUE.defer([1, 1, 2]) == 2
    assert QUEUE.defer([1, 2, 3]) == 1  # only the key without a waiting drainer
    jobs = ProcrastinateJob.objects.filter(task_name="tests.drain_items", status="todo")
    assert sorted(j.queueing_lock for j in jobs) == [QUEUE.lock(k) for k in (1, 2, 3)]
    assert sorted(j.args["key"] for j in jobs) == [1, 2, 3]
    assert {j.queue_name for j in jobs} == {TEST_QUEUE}


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_a_lock_taken_between_look_up_and_insert_reuses_the_waiting_drainer(monkeypatch):
    assert QUEUE.defer([7]) == 1
    manager = ProcrastinateJob.objects
    original = manager.filter
    monkeypatch.setattr(manager, "filter", lambda **kw: original(pk=-1))  # blind the look-up
    with transaction.atomic():
        assert QUEUE.defer([7, 8]) == 1  # 8 deferred, 7's conflict caught in a savepoint
        assert connection.needs_rollback is False
    monkeypatch.undo()
    assert len(todo(QUEUE.lock(7))) == len(todo(QUEUE.lock(8))) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_wake_at_keeps_one_scheduled_drainer_at_the_earliest_time():
    now = timezone.now()
    QUEUE.wake_at(1, now + timedelta(seconds=30))
    QUEUE.wake_at(1, now + timedelta(seconds=10))  # sooner: moves it earlier
    QUEUE.wake_at(1, now + timedelta(seconds=60))  # later: the earlier one serves
    [job] = todo(QUEUE.lock(1, scheduled=True))
    assert job.scheduled_at == now + timedelta(seconds=10)
    assert todo(QUEUE.lock(1)) == []  # an immediate drainer is not blocked by it…
    QUEUE.wake_at(1, now - timedelta(seconds=1))  # …and a due row defers one at once
    [immediate] = todo(QUEUE.lock(1))
    assert immediate.scheduled_at is None


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_wake_defers_due_keys_now_and_future_keys_at_their_earliest_row():
    now = timezone.now()
    QUEUE.wake([(1, now), (2, now + timedelta(seconds=20)), (2, now + timedelta(seconds=5)),
                (3, now + timedelta(seconds=9))])
    assert len(todo(QUEUE.lock(1))) == 1 and todo(QUEUE.lock(1, scheduled=True)) == []
    assert [j.scheduled_at for j in todo(QUEUE.lock(2, scheduled=True))] == [
        now + timedelta(seconds=5)]
    assert [j.scheduled_at for j in todo(QUEUE.lock(3, scheduled=True))] == [
        now + timedelta(seconds=9)]


# --- the loop -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_a_run_drains_everything_due_and_schedules_the_next_due_row():
    add(1, 7)
    later = add(1, 1, due=timezone.now() + timedelta(seconds=30))
    add(2, 2)  # another key: not this run's
    assert drain(1) == 7
    statuses = {i: s for i, s, *_ in rows()}
    assert [s for i, s in statuses.items() if i in later] == ["due"]
    assert sum(s == "done" for s in statuses.values()) == 7
    [job] = todo(QUEUE.lock(1, scheduled=True))
    assert job.scheduled_at == rows()[7][3]  # the drainer waits for exactly that row
    assert drain(1) == 0  # nothing due yet


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_two_runs_racing_process_each_row_once():
    add(1, 20)

    async def twice() -> list[int]:
        return list(await asyncio.gather(DRAIN.run(1), DRAIN.run(1)))

    assert sum(async_to_sync(twice)()) == 20
    assert {(status, runs) for _, status, runs, *_ in rows()} == {("done", 1)}


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_budget_spent_hands_over_to_a_fresh_drainer():
    add(1, 8)
    assert drain(1, budget=0) == 3  # one batch, then the budget is spent
    assert len(todo(QUEUE.lock(1))) == 1  # its successor waits
    assert [s for _, s, *_ in rows()].count("due") == 5
    assert drain(1) == 5


@pytest.mark.django_db
@pytest.mark.usefixtures("items")
def test_sweep_releases_expired_leases_and_wakes_due_keys():
    add(1, 3)
    add(2, 1, due=timezone.now() + timedelta(minutes=5))  # not due: no drainer
    dead = Run(1, "dead-worker")
    assert DRAIN.spec.claim(dead).rows  # claimed, then the worker died
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET claimed_until = now() - interval '1 minute' "  # noqa: S608
                       "WHERE status = 'claimed'")
    ProcrastinateJob.objects.all().delete()  # …and its job with it

    assert DRAIN.sweep() == {"released": 3, "drainers": 1}
    assert DRAIN.sweep() == {"released": 0, "drainers": 1}  # idempotent: the job is reused
    assert len(todo(QUEUE.lock(1))) == 1 and todo(QUEUE.lock(2)) == []
    # The dead run's late write is refused: its lease token no longer matches.
    assert ItemDrain().record("dead-worker", [r[0] for r in rows()]) == 0
    assert drain(1) == 3
    assert [(s, n) for _, s, n, *_ in rows()][:3] == [("done", 1)] * 3


# --- a real worker: precise wake-up -----------------------------------------------------------


def _run_worker(stop: threading.Event) -> None:
    """A procrastinate worker with the production defaults (its poll interval included),
    only for the test queue, until ``stop`` is set."""

    async def main() -> None:
        with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
            await worker_app.open_async()
            worker = asyncio.create_task(worker_app.run_worker_async(
                queues=[TEST_QUEUE], wait=True, install_signal_handlers=False,
                listen_notify=False, delete_jobs="never",
            ))
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
            await worker_app.close_async()

    try:
        asyncio.run(main())
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("items")
def test_a_row_due_in_two_seconds_runs_about_two_seconds_later():
    """No sweep runs here: only the scheduled drainer can pick the row up."""
    due = timezone.now() + timedelta(seconds=2)
    with transaction.atomic():
        [row_id] = add(1, 1, due=due)
        QUEUE.wake([(1, due)])
    assert todo(QUEUE.lock(1)) == []  # nothing immediate: the row is not due yet
    stop = threading.Event()
    worker = threading.Thread(target=_run_worker, args=(stop,))
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and rows()[0][1] != "done":
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(20)
    [(_, status, runs, due_at, done_at)] = rows()
    assert (status, runs) == ("done", 1)
    assert done_at >= due_at  # never early…
    # …and far sooner than a minute's sweep: 2 s plus the worker's poll interval and slack.
    assert done_at - due_at < timedelta(seconds=10), done_at - due_at


# --- batched purges ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_in_batches_stops_at_the_budget_and_resumes():
    now = timezone.now()
    RateCounter.objects.bulk_create(
        RateCounter(key=f"k{i:02}", window_start=now - timedelta(days=2)) for i in range(7))
    RateCounter.objects.create(key="fresh", window_start=now)
    old = RateCounter.objects.filter(window_start__lt=now - timedelta(days=1)).order_by("key")
    assert delete_in_batches(old, batch_size=3, budget=BatchBudget(2)) == 6
    assert list(RateCounter.objects.order_by("key").values_list("key", flat=True)) == [
        "fresh", "k06"]
    assert delete_in_batches(old, batch_size=3, budget=BatchBudget(2)) == 1
    assert delete_in_batches(old, batch_size=3, budget=BatchBudget(2)) == 0
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db
def test_in_batches_shares_one_budget_across_loops():
    budget = BatchBudget(3)
    pool = list(range(10))

    def fetch(size: int) -> list[int]:
        return pool[:size]

    def step(batch: list[int]) -> int:
        del pool[:len(batch)]
        return len(batch)

    assert in_batches(fetch, step, batch_size=2, budget=budget) == 6
    assert in_batches(fetch, step, batch_size=2, budget=budget) == 0  # budget spent
    assert pool == [6, 7, 8, 9]
