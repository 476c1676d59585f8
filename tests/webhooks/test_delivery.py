"""Delivery against a real receiver: signatures, auth, retries, redirects, 410, timeouts,
the SSRF guard and the per-attempt log."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from doxie.webhooks import services
from doxie.webhooks.delivery import MAX_ATTEMPTS
from doxie.webhooks.dispatch import RETRY_SUFFIX, drain_lock
from doxie.webhooks.models import WebhookEndpoint, WebhookInteraction
from doxie.webhooks.signing import generate_secret
from tests.fakes.webhook_receiver import Reply
from tests.webhooks.support import MESSAGE_SENT, ORIGINAL, make_endpoint, message_sent, run_drain


def emit(tenant, **extra):
    return services.emit(tenant=tenant, event=message_sent(**extra))


def make_due(*rows: WebhookInteraction) -> None:
    """Drive time: the retry is due now."""
    WebhookInteraction.objects.filter(id__in=[r.id for r in rows]).update(
        next_attempt_at=timezone.now()
    )


@pytest.mark.django_db
def test_signed_authenticated_delivery_verifies_with_standardwebhooks(tenant, receiver):
    endpoint, secret = make_endpoint(tenant, receiver, basic_auth_username="hook",
                                     basic_auth_password="s3cret:pass",
                                     send_original_payload=True)
    emit(tenant, original_payload=ORIGINAL)
    assert run_drain(endpoint.id) == 1

    (hit,) = receiver.hits("/hook")
    assert hit.method == "POST"
    assert hit.header("content-type") == "application/json"
    assert hit.header("doxie-event") == "message_sent"
    assert base64.b64decode(hit.header("authorization").split()[1]) == b"hook:s3cret:pass"
    payload = Webhook(secret).verify(hit.body, hit.headers)
    assert payload == {**MESSAGE_SENT, "original_payload": ORIGINAL}
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(hit.body, hit.headers)

    row = WebhookInteraction.objects.get()
    assert hit.header("webhook-id") == row.event_id
    assert row.status == "succeeded"
    assert row.response_code == 200 and row.retry_count == 0 and row.attempt_count == 1
    assert row.response_payload == {"received": True}
    assert row.requested_method == "POST"
    assert row.sent_payload == payload
    assert row.next_attempt_at is None and row.lease_token is None
    assert row.duration_ms is not None and row.error == ""
    assert [a["response_code"] for a in row.attempts] == [200]


@pytest.mark.django_db
def test_failure_then_success_two_attempts_same_webhook_id(tenant, receiver):
    endpoint, secret = make_endpoint(tenant, receiver)
    receiver.queue(Reply(500, {"error": "boom"}))
    emit(tenant)
    before = timezone.now()
    run_drain(endpoint.id)

    row = WebhookInteraction.objects.get()
    assert row.status == "pending"
    assert row.response_code == 500 and row.retry_count == 0
    assert row.response_payload == {"error": "boom"}
    assert row.error == "HTTP 500"
    # 5 s ± 20 %
    assert before + timedelta(seconds=3.9) <= row.next_attempt_at
    assert row.next_attempt_at <= timezone.now() + timedelta(seconds=6.1)
    # A soon-due retry gets its own delayed drainer (the sweep only runs every minute).
    retry_job = ProcrastinateJob.objects.get(queueing_lock=drain_lock(endpoint.id, RETRY_SUFFIX))
    assert retry_job.scheduled_at > before
    assert run_drain(endpoint.id) == 0  # not due yet

    make_due(row)
    assert run_drain(endpoint.id) == 1
    row.refresh_from_db()
    assert row.status == "succeeded"
    assert row.response_code == 200 and row.retry_count == 1 and row.attempt_count == 2
    assert [a["response_code"] for a in row.attempts] == [500, 200]
    assert [a["attempt"] for a in row.attempts] == [1, 2]
    assert row.attempts[0]["error"] == "HTTP 500" and row.attempts[1]["error"] is None
    first, second = receiver.hits()
    assert first.header("webhook-id") == second.header("webhook-id") == row.event_id
    for hit in (first, second):
        Webhook(secret).verify(hit.body, hit.headers)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(tenant, receiver, status):
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply(status, "slow down", {"Retry-After": "120"}))
    emit(tenant)
    before = timezone.now()
    run_drain(endpoint.id)
    row = WebhookInteraction.objects.get()
    assert row.status == "pending" and row.response_code == status
    assert row.next_attempt_at >= before + timedelta(seconds=120)
    assert row.response_payload == {"body": "slow down"}


@pytest.mark.django_db
def test_retry_after_http_date_and_cap(tenant, receiver, settings):
    settings.DOXIE_WEBHOOK_MAX_RETRY_AFTER = 600
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply(429, "", {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}))
    emit(tenant)
    before = timezone.now()
    run_drain(endpoint.id)
    row = WebhookInteraction.objects.get()
    assert before + timedelta(seconds=600) <= row.next_attempt_at
    assert row.next_attempt_at <= timezone.now() + timedelta(seconds=601)


@pytest.mark.django_db
def test_redirect_is_a_failure_and_never_followed(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply.redirect(receiver.url("/target")), path="/hook")
    emit(tenant)
    run_drain(endpoint.id)
    assert receiver.hits("/target") == []
    row = WebhookInteraction.objects.get()
    assert row.status == "pending" and row.response_code == 301
    assert "redirect 301 not followed" in row.error and "/target" in row.error


@pytest.mark.django_db
def test_410_deactivates_endpoint_and_fails_its_pending_rows(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    emit(tenant)
    emit(tenant)
    first, later = WebhookInteraction.objects.order_by("id")
    WebhookInteraction.objects.filter(id=later.id).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    receiver.queue(Reply(410, {"gone": True}))
    run_drain(endpoint.id)
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "410" in endpoint.deactivation_reason
    first.refresh_from_db()
    later.refresh_from_db()
    assert first.status == "failed" and first.response_code == 410
    assert later.status == "failed" and "deactivated" in later.error
    assert emit(tenant) == 0  # an inactive endpoint gets nothing new
    assert len(receiver.hits()) == 1


@pytest.mark.django_db
def test_timeout_is_a_retryable_failure(tenant, receiver, settings):
    settings.DOXIE_WEBHOOK_TIMEOUT = 0.3
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply(200, delay=3))
    emit(tenant)
    run_drain(endpoint.id)
    row = WebhookInteraction.objects.get()
    assert row.status == "pending"
    assert row.response_code is None and "timeout" in row.error
    assert 250 <= row.duration_ms < 2000


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_address_refused_without_retry(tenant, receiver, settings, host):
    endpoint, _ = make_endpoint(tenant, receiver)
    WebhookEndpoint.objects.filter(id=endpoint.id).update(
        url=f"https://{host}:{receiver.port}/hook"
    )
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    emit(tenant)
    run_drain(endpoint.id)
    row = WebhookInteraction.objects.get()
    assert row.status == "failed" and row.next_attempt_at is None
    assert "SSRF" in row.error and "loopback" in row.error
    assert receiver.hits() == []


@pytest.mark.django_db
def test_connection_refused_is_retried(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.stop()
    emit(tenant)
    run_drain(endpoint.id)
    row = WebhookInteraction.objects.get()
    assert row.status == "pending" and "ConnectError" in row.error


@pytest.mark.django_db
def test_gives_up_after_the_last_scheduled_attempt(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply(502))
    emit(tenant)
    WebhookInteraction.objects.update(attempt_count=MAX_ATTEMPTS - 1)
    run_drain(endpoint.id)
    row = WebhookInteraction.objects.get()
    assert row.status == "failed" and row.next_attempt_at is None
    assert row.retry_count == MAX_ATTEMPTS - 1
    assert f"gave up after {MAX_ATTEMPTS} attempts" in row.error


@pytest.mark.django_db
def test_five_days_of_failures_deactivate_and_success_resets(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply(500))
    emit(tenant)
    run_drain(endpoint.id)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.is_active
    make_due(*WebhookInteraction.objects.all())
    run_drain(endpoint.id)  # 200
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None

    WebhookEndpoint.objects.filter(id=endpoint.id).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1)
    )
    receiver.queue(Reply(500))
    emit(tenant)
    run_drain(endpoint.id)
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and "5 days" in endpoint.deactivation_reason
    assert WebhookInteraction.objects.filter(status="failed").count() == 1


@pytest.mark.django_db
def test_rotated_secret_signs_with_both_during_grace(tenant, receiver):
    endpoint, old = make_endpoint(tenant, receiver)
    _, new = services.rotate_secret(tenant=tenant, endpoint_id=endpoint.id)
    emit(tenant)
    run_drain(endpoint.id)
    (hit,) = receiver.hits()
    assert len(hit.header("webhook-signature").split(" ")) == 2
    Webhook(new).verify(hit.body, hit.headers)
    Webhook(old).verify(hit.body, hit.headers)
    WebhookEndpoint.objects.filter(id=endpoint.id).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    emit(tenant)
    run_drain(endpoint.id)
    latest = receiver.hits()[-1]
    Webhook(new).verify(latest.body, latest.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(latest.body, latest.headers)


@pytest.mark.django_db
def test_ping_and_resend(tenant, receiver):
    endpoint, secret = make_endpoint(tenant, receiver)
    ping = services.send_test(tenant=tenant, endpoint_id=endpoint.id)
    run_drain(endpoint.id)
    (hit,) = receiver.hits()
    assert hit.header("doxie-event") == "ping"
    assert Webhook(secret).verify(hit.body, hit.headers)["endpoint_id"] == str(endpoint.id)

    copy = services.resend(tenant=tenant, endpoint_id=endpoint.id, interaction_id=ping.id)
    run_drain(endpoint.id)
    again = receiver.hits()[-1]
    assert again.header("webhook-id") == hit.header("webhook-id") == copy.event_id
    assert again.body == hit.body
    copy.refresh_from_db()
    assert copy.status == "succeeded"


@pytest.mark.django_db
def test_inactive_endpoint_gets_test_pings_only_once(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver, is_active=False)
    WebhookInteraction.objects.create(
        tenant=tenant, endpoint=endpoint, event="message_sent", event_id="msg_x",
        next_attempt_at=timezone.now(), sent_payload={}, transaction_payload={},
    )
    services.send_test(tenant=tenant, endpoint_id=endpoint.id)
    receiver.queue(Reply(500))
    run_drain(endpoint.id)
    (hit,) = receiver.hits()
    assert hit.header("doxie-event") == "ping"
    ping = WebhookInteraction.objects.get(event="ping")
    assert ping.status == "failed"  # no retries for an inactive endpoint


@pytest.mark.django_db
def test_large_and_non_json_responses_are_capped(tenant, receiver):
    endpoint, _ = make_endpoint(tenant, receiver)
    receiver.queue(Reply(200, "x" * 100_000), Reply(200, b"{\"a\": \"\\u0000\"}",
                                                    {"Content-Type": "application/json"}))
    emit(tenant)
    emit(tenant)
    run_drain(endpoint.id)
    payloads = {len(str(r.response_payload)): r.response_payload
                for r in WebhookInteraction.objects.all()}
    big = max(payloads.values(), key=lambda p: len(p["body"]))
    assert len(big["body"]) == 64 * 1024 and big["truncated"] is True
    assert WebhookInteraction.objects.filter(status="succeeded").count() == 2


def test_retry_schedule_can_be_replaced_by_setting(settings):
    from doxie.webhooks.delivery import next_delay

    settings.DOXIE_WEBHOOK_RETRY_DELAYS = [1.0, 2.0]
    assert 0.8 <= next_delay(1).total_seconds() <= 1.2
    assert 1.6 <= next_delay(2).total_seconds() <= 2.4
    assert next_delay(3) is None  # two retries, then give up
    settings.DOXIE_WEBHOOK_RETRY_DELAYS = []
    assert next_delay(MAX_ATTEMPTS - 1) is not None and next_delay(MAX_ATTEMPTS) is None
