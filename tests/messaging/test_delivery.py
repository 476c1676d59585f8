"""The drainer against real peers: retries, permanent failures, exactly-once effort, leases,
the sweep, cancellation at claim time and the per-brand rate limit."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.utils import timezone

from doxie.messaging import delivery, tasks
from doxie.messaging.models import EmailTemplate, Message, MessageStatusEvent
from doxie.processes.models import Process
from doxie.webhooks import services as webhooks
from doxie.webhooks.models import WebhookInteraction
from tests.helpers import make_api_caller, make_tenant
from tests.messaging.conftest import SENDER, drain, mailer, make_brand, make_event


def send(api, api_caller, tenant, brand, n: int = 1) -> list[Message]:
    event = make_event(tenant, brand)
    if n > 1:
        EmailTemplate.objects.filter(event=event).update(
            to=f"{{% for i in range({n}) %}}user{{{{ i }}}}@example.org,{{% endfor %}}")
    assert mailer(api, api_caller).status_code == 200
    return list(Message.objects.order_by("id"))


def make_due() -> None:
    Message.objects.filter(status="queued").update(next_attempt_at=timezone.now())


def message_ids(server) -> list[str]:
    return [str(item.message["Message-ID"]) for item in server.received]


@pytest.mark.django_db
def test_smtp_451_is_retried_later_and_delivered(api, api_caller, tenant, smtp_server):
    brand = make_brand(tenant, smtp=smtp_server)
    [message] = send(api, api_caller, tenant, brand)
    smtp_server.data_reply = "451 4.3.0 try again later"
    before = timezone.now()
    assert drain(brand) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert "451" in message.status_reason
    assert message.next_attempt_at > before + timedelta(seconds=3)  # 5 s ±20 %
    retry = MessageStatusEvent.objects.filter(message=message).order_by("id").last()
    assert retry.status == "queued" and retry.detail["attempt"] == 1
    assert drain(brand) == 0  # not due yet

    smtp_server.data_reply = None
    make_due()
    assert drain(brand) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider) == ("sent", 2, "smtp")
    assert message_ids(smtp_server) == [f"<{message.public_id}@acme.example.com>"]
    assert Process.objects.get().status == "finished"


@pytest.mark.django_db
def test_mailjet_500_and_429_retry_with_retry_after(api, api_caller, tenant, fake_mailjet):
    brand = make_brand(tenant, mailjet=fake_mailjet)
    [message] = send(api, api_caller, tenant, brand)
    fake_mailjet.fail_next(1, 500)
    drain(brand)
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1

    make_due()
    fake_mailjet.throttle_next(1, retry_after="600")
    drain(brand)
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 2
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=590)

    make_due()
    drain(brand)
    message.refresh_from_db()
    assert message.status == "sent" and message.provider == "mailjet"
    [sent] = fake_mailjet.sent
    assert sent["CustomID"] == str(message.public_id)
    assert message.recipient_message_ids == {"max@example.org": message.provider_message_id}


@pytest.mark.django_db
def test_permanent_failure_fails_and_reports_status(api, api_caller, tenant, smtp_server,
                                                   receiver):
    webhooks.create_endpoint(tenant=tenant, type="Webhook::MessageStatusEndpoint",
                             url=receiver.url("/status"), send_original_payload=True)
    brand = make_brand(tenant, smtp=smtp_server)
    [message] = send(api, api_caller, tenant, brand)
    smtp_server.rcpt_replies["max@example.org"] = "550 5.1.1 no such user"
    drain(brand)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "550" in message.status_reason and message.lease_token is None
    [interaction] = WebhookInteraction.objects.filter(event="message_status_update")
    payload = interaction.sent_payload
    assert payload["status"] == "failed" and payload["message_id"] == message.id
    assert payload["recipient"] == "max@example.org"
    assert payload["original_payload"]["first_name"] == "Max"
    assert smtp_server.received == []
    assert Process.objects.get().status == "finished"


@pytest.mark.django_db
def test_gives_up_after_max_attempts(api, api_caller, tenant, smtp_server, settings):
    settings.DOXIE_MESSAGING_MAX_ATTEMPTS = 2
    brand = make_brand(tenant, smtp=smtp_server)
    [message] = send(api, api_caller, tenant, brand)
    smtp_server.data_reply = "451 4.3.0 later"
    drain(brand)
    make_due()
    drain(brand)
    message.refresh_from_db()
    assert message.status == "failed" and "gave up after 2 attempts" in message.status_reason


def _two_drains(brand) -> list[int]:
    async def twice() -> list[int]:
        import asyncio

        return list(await asyncio.gather(delivery.drain_brand(brand.id),
                                         delivery.drain_brand(brand.id)))

    return async_to_sync(twice)()


@pytest.mark.django_db
@pytest.mark.parametrize("rate", [200, 1000])
def test_drain_twice_sends_once(api, api_caller, tenant, smtp_server, settings, rate):
    """One slot (200/s): the second run leaves at once; four slots (1000/s): both runs
    share the work through SKIP LOCKED. Either way every message goes out exactly once."""
    settings.DOXIE_MESSAGING_BATCH_SIZE = 7
    brand = make_brand(tenant, smtp=smtp_server, messages_per_second=rate)
    messages = send(api, api_caller, tenant, brand, n=30)
    counts = _two_drains(brand)
    assert sum(counts) == 30
    if rate == 200:
        assert sorted(counts) == [0, 30]
    assert drain(brand) == 0  # and a third run finds nothing
    assert sorted(message_ids(smtp_server)) == sorted(
        f"<{m.public_id}@acme.example.com>" for m in messages)
    assert Message.objects.filter(status="sent").count() == 30
    assert MessageStatusEvent.objects.filter(status="sent").count() == 30


@pytest.mark.django_db
def test_busy_high_rate_brand_fans_out_to_another_drainer(api, api_caller, tenant, smtp_server,
                                                         settings):
    from procrastinate.contrib.django.models import ProcrastinateJob

    settings.DOXIE_MESSAGING_BATCH_SIZE = 10
    brand = make_brand(tenant, smtp=smtp_server, messages_per_second=1000)
    send(api, api_caller, tenant, brand, n=25)
    ProcrastinateJob.objects.all().delete()  # pretend the Mailer's drainer is this run
    assert drain(brand) == 25
    assert ProcrastinateJob.objects.filter(task_name="messaging.drain_brand",
                                           status="todo").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_on_separate_connections_send_each_once(smtp_server, settings):
    settings.DOXIE_MESSAGING_BATCH_SIZE = 5
    tenant = make_tenant("acme")
    brand = make_brand(tenant, smtp=smtp_server)
    from tests.helpers import ApiClient

    send(ApiClient(), make_api_caller(tenant), tenant, brand, n=40)
    results: list[int] = []

    def worker() -> None:
        try:
            results.append(drain(brand))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == 40
    assert len(smtp_server.received) == len(set(message_ids(smtp_server))) == 40


@pytest.mark.django_db(transaction=True)
def test_claim_skips_rows_locked_by_another_transaction(smtp_server):
    tenant = make_tenant("acme")
    brand = make_brand(tenant, smtp=smtp_server)
    from tests.helpers import ApiClient

    messages = send(ApiClient(), make_api_caller(tenant), tenant, brand, n=6)
    locked, release = threading.Event(), threading.Event()

    def hold_first_three() -> None:
        try:
            with transaction.atomic():
                list(Message.objects.select_for_update().filter(
                    id__in=[m.id for m in messages[:3]]))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_three)
    holder.start()
    assert locked.wait(10)
    try:
        claim = delivery.claim_batch(brand.id, "token-a")
    finally:
        release.set()
        holder.join(10)
    assert [row.id for row in claim.rows] == [m.id for m in messages[3:]]


@pytest.mark.django_db
def test_a_run_whose_lease_expired_cannot_overwrite_a_newer_claim(api, api_caller, tenant,
                                                                  smtp_server):
    brand = make_brand(tenant, smtp=smtp_server)
    [message] = send(api, api_caller, tenant, brand)
    old = delivery.claim_batch(brand.id, "old-run")
    # The old run stalls past its lease; the sweep requeues, a new run claims the row.
    Message.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    delivery.DrainerLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert delivery.release_expired_claims() == 1
    new = delivery.claim_batch(brand.id, "new-run")
    assert [r.id for r in new.rows] == [message.id]
    stale = delivery.Outcome(row=old.rows[0], kind="failed", at=timezone.now(), error="late")
    delivery.record_results(old.brand, "old-run", [stale])
    message.refresh_from_db()
    assert (message.status, message.lease_token) == ("sending", "new-run")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_sweep_recovers_rows_of_a_dead_worker(smtp_server):
    from procrastinate.contrib.django.models import ProcrastinateJob

    from tests.helpers import ApiClient, run_jobs

    tenant = make_tenant("acme")
    brand = make_brand(tenant, smtp=smtp_server)
    messages = send(ApiClient(), make_api_caller(tenant), tenant, brand, n=3)
    ProcrastinateJob.objects.all().delete()  # the worker died with its job
    delivery.claim_batch(brand.id, "dead-worker")  # …after claiming the rows
    Message.objects.update(claimed_until=timezone.now() - timedelta(minutes=1))
    delivery.DrainerLease.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert tasks.sweep() == {"released": 3, "drainers": 1}
    assert tasks.sweep() == {"released": 0, "drainers": 1}  # idempotent (drainer already waits)
    assert ProcrastinateJob.objects.filter(task_name="messaging.drain_brand").count() == 1
    run_jobs()
    assert Message.objects.filter(status="sent").count() == 3
    assert sorted(message_ids(smtp_server)) == sorted(
        f"<{m.public_id}@acme.example.com>" for m in messages)


@pytest.mark.django_db
def test_rows_of_a_cancelled_process_are_cancelled_when_claimed(api, api_caller, tenant,
                                                              smtp_server):
    brand = make_brand(tenant, smtp=smtp_server)
    [message] = send(api, api_caller, tenant, brand)
    Process.objects.update(status="cancelled")  # e.g. requeued by the sweep after a cancel
    assert drain(brand) == 0
    message.refresh_from_db()
    assert message.status == "cancelled" and smtp_server.received == []


@pytest.mark.django_db
def test_rate_limit_paces_the_brand(api, api_caller, tenant, smtp_server):
    brand = make_brand(tenant, smtp=smtp_server, messages_per_second=20)
    send(api, api_caller, tenant, brand, n=30)
    started = time.monotonic()
    assert drain(brand) == 30
    elapsed = time.monotonic() - started
    assert elapsed >= 1.2, elapsed  # 30 messages at 20/s with a 2-message burst


@pytest.mark.django_db
def test_message_sent_webhook_carries_the_seed_payload(api, api_caller, tenant, smtp_server,
                                                       receiver):
    webhooks.create_endpoint(tenant=tenant, type="Webhook::MessageSentEndpoint",
                             url=receiver.url("/sent"), send_original_payload=True)
    brand = make_brand(tenant, smtp=smtp_server)
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(text="Hallo {{ first_name }}")
    body = mailer(api, api_caller).json()
    drain(brand)
    message = Message.objects.get()
    [interaction] = WebhookInteraction.objects.filter(event="message_sent")
    assert interaction.sent_payload == {
        "process_id": body["process_uuid"],
        "message_type": "email",
        "message_id": message.id,
        "recipient_specific_message_ids": [f"<{message.public_id}@acme.example.com>"],
        "recipient": "max@example.org",
        "subject": "Willkommen Max",
        "text": "Hallo Max",
        "html": message.html,
        "original_brand_slug": "acme-brand",
        "original_tenant_slug": "acme",
        "original_event_slug": "welcome_email",
        "timestamp": message.sent_at.isoformat().replace("+00:00", "Z"),
        "original_payload": {"email": "max@example.org", "first_name": "Max",
                             "phone": "+491771234567"},
    }
    assert message.sender == SENDER
