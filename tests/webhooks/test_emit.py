"""``services.emit``: rows and drainer jobs in the caller's transaction, at a fixed cost."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from procrastinate.contrib.django.models import ProcrastinateJob

from doxie.webhooks import dispatch, services
from doxie.webhooks.dispatch import drain_lock
from doxie.webhooks.events import ENDPOINT_TYPES, EVENT_FOR_TYPE, Ping, QrCodeScanned
from doxie.webhooks.models import WebhookInteraction
from tests.webhooks.support import MESSAGE_SENT, ORIGINAL, SAMPLES, message_sent


def endpoint(tenant, type="Webhook::MessageSentEndpoint", **fields):
    created, _ = services.create_endpoint(
        tenant=tenant, type=type, url="https://hooks.example.com/", **fields
    )
    return created


@pytest.mark.django_db
def test_one_row_per_active_endpoint_of_the_type_and_one_drainer_each(tenant, other_tenant):
    plain = endpoint(tenant)
    with_original = endpoint(tenant, send_original_payload=True)
    endpoint(tenant, is_active=False)
    endpoint(tenant, type="Webhook::LinkClickedEndpoint")
    endpoint(other_tenant)

    created = services.emit(tenant=tenant, event=message_sent(original_payload=ORIGINAL))
    assert created == 2
    rows = {r.endpoint_id: r for r in WebhookInteraction.objects.all()}
    assert set(rows) == {plain.id, with_original.id}
    assert rows[plain.id].sent_payload == MESSAGE_SENT
    assert rows[with_original.id].sent_payload == {**MESSAGE_SENT, "original_payload": ORIGINAL}
    for row in rows.values():
        assert row.transaction_payload == {**MESSAGE_SENT, "original_payload": ORIGINAL}
        assert row.status == "pending" and row.next_attempt_at is not None
        assert row.process_id == MESSAGE_SENT["process_id"]
        assert row.tenant_id == tenant.id
    assert rows[plain.id].event_id == rows[with_original.id].event_id
    assert rows[plain.id].event_id.startswith("msg_")
    locks = set(ProcrastinateJob.objects.filter(task_name="webhooks.drain", status="todo")
                .values_list("queueing_lock", flat=True))
    assert locks == {drain_lock(plain.id), drain_lock(with_original.id)}

    # A second event reuses the waiting drainers instead of queueing more.
    services.emit(tenant=tenant, event=message_sent())
    assert ProcrastinateJob.objects.filter(task_name="webhooks.drain").count() == 2
    assert WebhookInteraction.objects.count() == 4


@pytest.mark.django_db
def test_every_event_maps_to_its_endpoint_type(tenant):
    endpoints = {kind: endpoint(tenant, type=kind) for kind in ENDPOINT_TYPES}
    for kind in ENDPOINT_TYPES:
        assert services.emit(tenant=tenant, event=SAMPLES[EVENT_FOR_TYPE[kind].EVENT]) == 1
    for kind, ep in endpoints.items():
        row = WebhookInteraction.objects.get(endpoint=ep)
        sample = SAMPLES[row.event]
        assert type(sample).ENDPOINT_TYPE == kind
        assert row.sent_payload == sample.payload(include_original=False)
        assert row.process_id == sample.process_id_value is not None


@pytest.mark.django_db
@pytest.mark.parametrize("wrong", [
    "message_sent", {"process_id": "x"}, None, 42, MESSAGE_SENT,
    Ping(endpoint_id="1", endpoint_type="Webhook::MessageSentEndpoint",
         original_tenant_slug="acme", timestamp=datetime(2021, 1, 1, tzinfo=UTC)),
])
def test_emit_takes_only_event_classes(tenant, wrong):
    endpoint(tenant)
    with pytest.raises(TypeError):
        services.emit(tenant=tenant, event=wrong)
    with pytest.raises(TypeError):
        services.emit_many(tenant=tenant, events=[message_sent(), wrong])
    assert WebhookInteraction.objects.count() == 0


@pytest.mark.django_db
def test_nobody_listening_costs_one_query(tenant):
    with CaptureQueriesContext(connection) as queries:
        assert services.emit(tenant=tenant, event=SAMPLES["rcs_response"]) == 0
    assert len(queries) == 1


@pytest.mark.django_db
def test_data_is_normalised_to_json(tenant):
    endpoint(tenant, type="Webhook::QrCodeScannedEndpoint", send_original_payload=True)
    qr = uuid.uuid4()
    services.emit(tenant=tenant, event=QrCodeScanned(
        process_id="p", target_url="https://example.com/",
        valid_until=datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        qr_code_uuid=qr,  # type: ignore[arg-type]
        timestamp=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), status="active",
        original_payload={"valid_until": None},
    ))
    row = WebhookInteraction.objects.get()
    assert row.sent_payload == {
        "process_id": "p", "target_url": "https://example.com/",
        "valid_until": "2024-12-31T23:59:59Z", "qr_code_uuid": str(qr),
        "timestamp": "2024-01-02T03:04:05Z", "status": "active",
        "original_payload": {"valid_until": None},
    }


@pytest.mark.django_db
def test_rollback_creates_nothing_and_defers_nothing(tenant):
    endpoint(tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert services.emit(tenant=tenant, event=message_sent()) == 1
        assert WebhookInteraction.objects.count() == 1
        raise RuntimeError("the caller's transaction fails")
    assert WebhookInteraction.objects.count() == 0
    assert ProcrastinateJob.objects.count() == 0


@pytest.mark.django_db
def test_pending_drainer_is_reused_when_another_transaction_deferred_first(
    tenant, monkeypatch
):
    """The fallback path: the lock was taken between our check and our insert."""
    ep = endpoint(tenant)
    services.emit(tenant=tenant, event=message_sent())
    manager = ProcrastinateJob.objects
    original = manager.filter
    monkeypatch.setattr(manager, "filter", lambda **kw: original(pk=-1))  # blind the check
    with transaction.atomic():
        assert dispatch.defer_drainers([ep.id, ep.id]) == 0
        assert WebhookInteraction.objects.count() == 1  # the transaction is still usable
    assert ProcrastinateJob.objects.count() == 1


@pytest.mark.django_db
def test_query_count_does_not_grow_with_endpoints(tenant):
    endpoint(tenant, type="Webhook::LinkClickedEndpoint")
    for _ in range(25):
        endpoint(tenant, type="Webhook::MessageStatusEndpoint", send_original_payload=True)

    with CaptureQueriesContext(connection) as one:
        assert services.emit(tenant=tenant, event=SAMPLES["link_clicked"]) == 1
    status = SAMPLES["message_status_update"]
    with CaptureQueriesContext(connection) as many:
        assert services.emit(
            tenant=tenant, event=dataclasses.replace(status, original_payload=ORIGINAL)
        ) == 25
    assert len(many) == len(one) <= 6, [q["sql"][:80] for q in many.captured_queries]
    # With drainers already waiting the cost drops further, still flat.
    with CaptureQueriesContext(connection) as again:
        services.emit(tenant=tenant, event=dataclasses.replace(status, status="opened"))
    assert len(again) <= 3


@pytest.mark.django_db
def test_emit_many_batches_events_at_a_fixed_cost(tenant):
    for _ in range(3):
        endpoint(tenant, type="Webhook::MessageSentEndpoint")
    events = [message_sent(message_id=i) for i in range(50)]
    with CaptureQueriesContext(connection) as queries:
        assert services.emit_many(tenant=tenant, events=events) == 150
    assert len(queries) <= 6
    rows = list(WebhookInteraction.objects.order_by("id"))
    assert len({r.event_id for r in rows}) == 50
    per_event = {}
    for row in rows:
        per_event.setdefault(row.event_id, set()).add(row.sent_payload["message_id"])
    assert all(len(ids) == 1 for ids in per_event.values())
    assert services.emit_many(tenant=tenant, events=[]) == 0


@pytest.mark.django_db
def test_emit_many_mixes_kinds_in_one_select(tenant):
    sent = endpoint(tenant, type="Webhook::MessageSentEndpoint", send_original_payload=True)
    clicked = endpoint(tenant, type="Webhook::LinkClickedEndpoint")
    events = [
        message_sent(original_payload=ORIGINAL), SAMPLES["link_clicked"],
        SAMPLES["doi_confirmation"],  # nobody listens: no row
        message_sent(message_id=2),
    ]
    with CaptureQueriesContext(connection) as queries:
        assert services.emit_many(tenant=tenant, events=events) == 3
    assert len(queries) <= 6
    rows = list(WebhookInteraction.objects.order_by("id"))
    assert [(r.endpoint_id, r.event) for r in rows] == [
        (sent.id, "message_sent"), (clicked.id, "link_clicked"), (sent.id, "message_sent"),
    ]
    assert rows[0].sent_payload == {**MESSAGE_SENT, "original_payload": ORIGINAL}
    assert rows[2].sent_payload == {**MESSAGE_SENT, "message_id": 2, "original_payload": None}
    assert rows[2].transaction_payload == {**MESSAGE_SENT, "message_id": 2}
    assert rows[1].sent_payload == SAMPLES["link_clicked"].data()
    locks = set(ProcrastinateJob.objects.filter(task_name="webhooks.drain")
                .values_list("queueing_lock", flat=True))
    assert locks == {drain_lock(sent.id), drain_lock(clicked.id)}
