"""The jobs: drain idempotency (also across connections), the sweep, retention and a real
procrastinate worker end to end."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from doxie.core.http import SafeClient
from doxie.core.jobs import app
from doxie.tenants.models import Tenant
from doxie.webhooks import delivery, services, tasks
from doxie.webhooks.dispatch import drain_lock
from doxie.webhooks.models import WebhookInteraction
from doxie.webhooks.sender import close_pooled_clients, pooled_client
from tests.fakes.webhook_receiver import Reply
from tests.helpers import make_tenant
from tests.webhooks.support import make_endpoint, message_sent, run_drain


def emit_many(tenant, n: int) -> None:
    for i in range(n):
        services.emit(tenant=tenant, event=message_sent(text=str(i)))


@pytest.mark.django_db
def test_drain_twice_delivers_each_interaction_once(tenant, receiver, settings):
    settings.DOXIE_WEBHOOK_BATCH_SIZE = 7
    endpoint, _ = make_endpoint(tenant, receiver)
    emit_many(tenant, 30)

    async def twice() -> list[int]:
        async with SafeClient() as client:
            return await asyncio.gather(
                delivery.drain_endpoint(endpoint.id, client=client),
                delivery.drain_endpoint(endpoint.id, client=client),
            )

    counts = async_to_sync(twice)()
    assert sum(counts) == 30
    assert run_drain(endpoint.id) == 0  # and a third run finds nothing
    assert len(receiver.hits()) == 30
    assert len({h.header("webhook-id") for h in receiver.hits()}) == 30
    assert WebhookInteraction.objects.filter(status="succeeded").count() == 30


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_concurrent_drainers_on_separate_connections_share_nothing(receiver, settings):
    """SKIP LOCKED across real connections: two threads, each its own session."""
    settings.DOXIE_WEBHOOK_BATCH_SIZE = 5
    tenant = make_tenant("acme")
    endpoint, _ = make_endpoint(tenant, receiver)
    emit_many(tenant, 40)
    receiver.default = Reply(200, delay=0.01)
    results: list[int] = []

    def worker() -> None:
        try:
            results.append(run_drain(endpoint.id))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(results) == 40
    assert len(receiver.hits()) == 40
    assert WebhookInteraction.objects.filter(status="succeeded").count() == 40


@pytest.mark.django_db
def test_sweep_recovers_a_dead_workers_rows(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    emit_many(tenant, 3)
    with connection.cursor() as cursor:  # the emit's drainer was lost with the worker
        cursor.execute("DELETE FROM procrastinate_jobs")
    dead, alive, waiting = WebhookInteraction.objects.order_by("id")
    past, future = timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(minutes=5)
    WebhookInteraction.objects.filter(id=dead.id).update(
        status="delivering", claimed_until=past, lease_token="dead")
    WebhookInteraction.objects.filter(id=alive.id).update(
        status="delivering", claimed_until=future, lease_token="alive")
    WebhookInteraction.objects.filter(id=waiting.id).update(next_attempt_at=future)

    result = tasks.sweep()
    assert result == {"released": 1, "drainers": 1}
    assert ProcrastinateJob.objects.filter(queueing_lock=drain_lock(endpoint.id)).exists()
    assert tasks.sweep() == {"released": 0, "drainers": 1}  # idempotent: the job is reused
    assert ProcrastinateJob.objects.count() == 1

    assert run_drain(endpoint.id) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == "succeeded"
    assert alive.status == "delivering"  # a live lease is left alone
    assert [h.header("webhook-id") for h in receiver.hits()] == [dead.event_id]


@pytest.mark.django_db
def test_late_result_of_an_expired_lease_does_not_overwrite(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    emit_many(tenant, 1)
    claim = delivery.claim_batch(endpoint.id, 10, timedelta(minutes=1))
    assert len(claim.rows) == 1
    WebhookInteraction.objects.update(lease_token="someone-else")
    outcome = delivery.Outcome(row=claim.rows[0], attempted_at=timezone.now(), kind="success",
                               response_code=200)
    delivery.record_results(endpoint.id, claim.token, [outcome])
    row = WebhookInteraction.objects.get()
    assert row.status == "delivering" and row.attempts == []


@pytest.mark.django_db
def test_retention_purge(tenant, other_tenant, receiver):
    Tenant.objects.filter(id=tenant.id).update(webhook_interaction_storage_duration_in_days=7)
    Tenant.objects.filter(id=other_tenant.id).update(
        webhook_interaction_storage_duration_in_days=30)
    mine, _ = make_endpoint(tenant, receiver)
    theirs, _ = make_endpoint(other_tenant, receiver)
    emit_many(tenant, 8)
    services.emit(tenant=other_tenant, event=message_sent())
    rows = list(WebhookInteraction.objects.filter(tenant=tenant).order_by("id"))
    old = timezone.now() - timedelta(days=8)
    WebhookInteraction.objects.filter(id__in=[r.id for r in rows[:5]]).update(
        created_at=old, status="succeeded")
    WebhookInteraction.objects.filter(id=rows[5].id).update(created_at=old, status="failed")
    WebhookInteraction.objects.filter(id=rows[6].id).update(created_at=old)  # still pending
    WebhookInteraction.objects.filter(id=rows[7].id).update(
        created_at=timezone.now() - timedelta(days=6), status="succeeded")
    WebhookInteraction.objects.filter(tenant=other_tenant).update(created_at=old,
                                                                  status="succeeded")

    assert services.purge_expired_interactions(batch_size=2) == 6
    assert set(WebhookInteraction.objects.values_list("id", flat=True)) == {
        rows[6].id, rows[7].id, WebhookInteraction.objects.get(tenant=other_tenant).id}
    assert tasks.purge() == 0  # idempotent


@pytest.mark.django_db
def test_purge_is_bounded_per_run(tenant, receiver):
    make_endpoint(tenant, receiver)
    emit_many(tenant, 5)
    WebhookInteraction.objects.update(created_at=timezone.now() - timedelta(days=30),
                                      status="succeeded")
    assert services.purge_expired_interactions(batch_size=2, max_batches=2) == 4
    assert services.purge_expired_interactions(batch_size=2, max_batches=2) == 1


def test_task_names_are_stable():
    registered = set(app.tasks)
    assert {"webhooks.drain", "webhooks.sweep", "webhooks.purge"} <= registered
    periodic = {task.name for task in (p.task for p in app.periodic_registry.periodic_tasks
                                       .values())}
    assert {"webhooks.sweep", "webhooks.purge"} <= periodic


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
async def test_real_worker_delivers_emitted_events(receiver):
    """emit → commit → procrastinate worker runs webhooks.drain → receiver got it."""
    try:
        await _worker_roundtrip(receiver)
    finally:  # the shared sync thread's connection would outlive the test database
        await sync_to_async(lambda: connection.close())()


async def _worker_roundtrip(receiver) -> None:
    tenant = await sync_to_async(make_tenant)("acme")
    endpoint, _ = await sync_to_async(make_endpoint)(tenant, receiver)
    await sync_to_async(services.emit)(tenant=tenant, event=message_sent())
    worker_app = app.with_connector(app.connector.get_worker_connector())
    async with worker_app.open_async():
        await asyncio.wait_for(
            worker_app.run_worker_async(
                queues=["default"], wait=False, listen_notify=False,
                install_signal_handlers=False, concurrency=2, delete_jobs="never",
            ),
            timeout=30,
        )
    assert receiver.wait_for(1, timeout=5)
    row = await WebhookInteraction.objects.aget(endpoint_id=endpoint.id)
    assert row.status == "succeeded"
    statuses = [job.status async for job in
                ProcrastinateJob.objects.filter(task_name="webhooks.drain")]
    # The worker's periodic sweep may wake a second drainer that finds nothing to do; what
    # matters is that every drain succeeded and the event was delivered exactly once.
    assert statuses and set(statuses) == {"succeeded"}
    assert receiver.count == 1


@pytest.mark.django_db
def test_drain_task_with_the_workers_pooled_clients(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    emit_many(tenant, 3)

    async def run_task() -> int:
        try:
            return await tasks.drain(endpoint_id=endpoint.id)
        finally:
            await close_pooled_clients()

    assert async_to_sync(run_task)() == 3
    assert len(receiver.hits()) == 3


async def test_pooled_clients_are_per_endpoint_lru_and_closed_after_use(settings):
    settings.DOXIE_WEBHOOK_MAX_CLIENTS = 1
    url = "https://hooks.example.com/a"
    async with pooled_client(1, url) as first:
        async with pooled_client(1, url) as again:
            assert again is first
        async with pooled_client(2, url) as second:
            assert second is not first
            assert not first._client.is_closed  # evicted but still in use
        assert not second._client.is_closed
    assert first._client.is_closed  # closed once its last batch finished
    await close_pooled_clients()
    assert second._client.is_closed
