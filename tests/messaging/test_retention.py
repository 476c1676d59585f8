"""Retention: pseudonymize after the brand's N days, delete after M days, in bounded batches;
idempotent; never touches messages still on their way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from doxie.messaging import privacy, tasks
from doxie.messaging.models import IdempotencyRecord, Message, MessageStatusEvent, TrackedLink
from doxie.processes.models import Process
from tests.messaging.conftest import drain, mailer, make_brand, make_event


def age(days: float, **filters) -> None:
    when = timezone.now() - timedelta(days=days)
    Message.objects.filter(**filters).update(created_at=when)
    Process.objects.update(created_at=when)


@pytest.mark.django_db
def test_pseudonymize_then_delete(api, api_caller, tenant, smtp_server):
    brand = make_brand(tenant, smtp=smtp_server,
                       pseudonymization_duration_of_sent_messages_in_days=30,
                       storage_duration_of_sent_messages_in_days=90)
    make_event(tenant, brand, sms=1)
    mailer(api, api_caller, headers={"Idempotency-Key": "a"})
    drain(brand)
    MessageStatusEvent.objects.update(detail={"raw": "max@example.org bounced"})
    Message.objects.update(status_reason="550 max@example.org unknown")
    age(29)
    assert tasks.apply_retention()["pseudonymized"] == 0

    age(31)
    assert tasks.retention()["pseudonymized"] == 2
    email = Message.objects.get(channel="email")
    expected = privacy.pseudonym("max@example.org")
    assert email.recipient == expected and expected.startswith("pseudonym:")
    assert (email.subject, email.html, email.text, email.headers) == ("", "", "", {})
    assert email.pseudonymized_at is not None and email.status == "sent"
    assert "max@example.org" not in email.status_reason and expected in email.status_reason
    assert set(MessageStatusEvent.objects.values_list("status", flat=True)) >= {"queued", "sent"}
    assert not MessageStatusEvent.objects.exclude(detail={}).exists()
    assert Process.objects.get().original_payload == {}
    assert TrackedLink.objects.count() == 1  # old links keep redirecting
    assert tasks.apply_retention()["pseudonymized"] == 0  # idempotent

    age(91)
    result = tasks.apply_retention()
    assert result["deleted"] == 2 and result["processes_deleted"] == 1
    assert not Message.objects.exists() and not TrackedLink.objects.exists()
    assert not MessageStatusEvent.objects.exists()


@pytest.mark.django_db
def test_bounded_batches_and_active_messages_untouched(api, api_caller, tenant, smtp_server):
    brand = make_brand(tenant, smtp=smtp_server,
                       pseudonymization_duration_of_sent_messages_in_days=1)
    event = make_event(tenant, brand)
    from doxie.messaging.models import EmailTemplate

    EmailTemplate.objects.filter(event=event).update(
        to="{% for i in range(5) %}u{{ i }}@example.org,{% endfor %}")
    mailer(api, api_caller)
    Message.objects.filter(recipient="u0@example.org").update(status="failed")
    Message.objects.filter(recipient="u1@example.org").update(status="sent")
    Message.objects.filter(recipient="u2@example.org").update(status="cancelled")
    age(2)
    assert tasks.apply_retention(batch_size=2)["pseudonymized"] == 3  # 2 + 1, then a short batch
    left = dict(Message.objects.values_list("recipient", "status"))
    assert left["u3@example.org"] == "queued" and left["u4@example.org"] == "queued"
    # A payload stays while a message of the process still holds personal data.
    assert Process.objects.get().original_payload != {}


@pytest.mark.django_db
def test_payload_of_a_process_without_messages_is_cleared(api, api_caller, tenant, smtp_server):
    from doxie.messaging.models import EmailTemplate

    brand = make_brand(tenant, smtp=smtp_server,
                       pseudonymization_duration_of_sent_messages_in_days=1)
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(subject="{{ nope }}")
    mailer(api, api_caller)
    age(2)
    tasks.apply_retention()
    assert Process.objects.get().original_payload == {}


@pytest.mark.django_db
def test_expired_idempotency_records_are_purged(api, api_caller, tenant, smtp_server):
    brand = make_brand(tenant, smtp=smtp_server)
    make_event(tenant, brand)
    mailer(api, api_caller, headers={"Idempotency-Key": "old"})
    mailer(api, api_caller, headers={"Idempotency-Key": "new"})
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25))
    assert tasks.apply_retention()["idempotency"] == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
