"""The typed webhook events: seed-exact bodies, one list of endpoint types, one class per event."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, get_args

import pytest

from doxie.webhooks.events import (
    ENDPOINT_TYPES,
    EVENT_FOR_TYPE,
    EVENTS,
    DoiConfirmation,
    Ping,
    QrCodeScanned,
    WebhookEvent,
)
from doxie.webhooks.models import WebhookEndpoint
from doxie.webhooks.schemas import EndpointTypeLiteral
from tests.webhooks.support import MESSAGE_SENT, ORIGINAL, SAMPLES, SENT

#: The keys of each notification's schema in the seed's API page, in its order (copied by
#: hand from the seed: a change to an event class must be checked against the contract).
SEED_KEYS: dict[str, list[str]] = {
    "message_sent": [
        "process_id", "message_type", "message_id", "recipient_specific_message_ids",
        "recipient", "subject", "text", "html", "original_brand_slug",
        "original_tenant_slug", "original_event_slug", "timestamp",
    ],
    "message_status_update": [
        "process_id", "message_type", "message_id", "recipient_specific_message_id",
        "recipient", "status", "timestamp",
    ],
    "link_clicked": [
        "process_id", "url", "recipients", "original_tenant_slug", "original_event_slug",
        "timestamp",
    ],
    "doi_confirmation": ["identifier", "timestamp", "ipAddress"],
    "process_cancellation": ["process_uuid", "cancellation_timestamp"],
    "qr_code_scanned": [
        "process_id", "target_url", "valid_until", "qr_code_uuid", "timestamp", "status",
    ],
    "rcs_response": [
        "process_id", "message_id", "agent_id", "sender", "timestamp", "message_content",
    ],
}
#: API.md: the endpoint types, in the contract's order, and which event each receives.
CONTRACT_TYPES = {
    "Webhook::MessageSentEndpoint": "message_sent",
    "Webhook::MessageStatusEndpoint": "message_status_update",
    "Webhook::LinkClickedEndpoint": "link_clicked",
    "Webhook::DoiConfirmationEndpoint": "doi_confirmation",
    "Webhook::ProcessCancellationEndpoint": "process_cancellation",
    "Webhook::QrCodeScannedEndpoint": "qr_code_scanned",
    "Webhook::RcsResponseEndpoint": "rcs_response",
    # Beyond the seed (API.md), added as one class each
    "Webhook::SurveyResponseEndpoint": "survey_response",
}


@pytest.mark.parametrize("name", list(SEED_KEYS))
def test_body_has_exactly_the_seed_keys_with_and_without_original(name: str) -> None:
    event = SAMPLES[name]
    assert event.EVENT == name
    assert list(event.payload(include_original=False)) == SEED_KEYS[name]
    # An endpoint that asked for it gets the key even when the process has none (null).
    assert list(event.payload(include_original=True)) == [*SEED_KEYS[name], "original_payload"]
    assert event.payload(include_original=True)["original_payload"] is None
    assert list(event.full_payload()) == SEED_KEYS[name]

    carrying = dataclasses.replace(event, original_payload=ORIGINAL)
    assert carrying.payload(include_original=False) == event.payload(include_original=False)
    assert carrying.payload(include_original=True) == {
        **event.data(), "original_payload": ORIGINAL
    }
    assert carrying.full_payload() == carrying.payload(include_original=True)
    # JSON as it will be stored and sent: no datetimes or UUID objects left.
    assert json.loads(json.dumps(carrying.full_payload())) == carrying.full_payload()


def test_message_sent_body_is_the_seed_example_shape() -> None:
    assert SENT.data() == MESSAGE_SENT
    assert SENT.process_id_value == MESSAGE_SENT["process_id"]


def test_times_are_iso_utc_with_z_and_values_become_json() -> None:
    berlin = timezone(timedelta(hours=2))
    qr = uuid.uuid4()
    event = QrCodeScanned(
        process_id="p", target_url="https://example.com/", valid_until=None,
        qr_code_uuid=qr, timestamp=datetime(2024, 1, 2, 5, 4, 5, 120000, tzinfo=berlin),  # type: ignore[arg-type]
        status="expired",
    )
    body = event.data()
    assert body["timestamp"] == "2024-01-02T03:04:05.120000Z"
    assert body["valid_until"] is None
    assert body["qr_code_uuid"] == str(qr)


def test_doi_uses_the_seed_spelling_and_its_process_field() -> None:
    event = DoiConfirmation(identifier="p-1", timestamp=datetime(2021, 1, 1, tzinfo=UTC),
                            ip_address=None)
    assert event.data() == {"identifier": "p-1", "timestamp": "2021-01-01T00:00:00Z",
                            "ipAddress": None}
    assert event.process_id_value == "p-1"
    assert SAMPLES["process_cancellation"].process_id_value == SAMPLES[
        "process_cancellation"].data()["process_uuid"]


def test_ping_goes_to_no_type_and_never_carries_the_original() -> None:
    ping = Ping(endpoint_id="7", endpoint_type="Webhook::LinkClickedEndpoint",
                original_tenant_slug="acme", timestamp=datetime(2021, 1, 1, tzinfo=UTC))
    assert ping.ENDPOINT_TYPE is None and ping.process_id_value is None
    assert ping.payload(include_original=True) == {
        "event": "ping", "endpoint_id": "7", "endpoint_type": "Webhook::LinkClickedEndpoint",
        "original_tenant_slug": "acme", "timestamp": "2021-01-01T00:00:00Z",
    }


def test_events_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SENT.text = "changed"  # type: ignore[misc]


def test_endpoint_types_come_from_one_list() -> None:
    assert dict(zip(ENDPOINT_TYPES, (EVENT_FOR_TYPE[t].EVENT for t in ENDPOINT_TYPES),
                    strict=True)) == CONTRACT_TYPES
    assert list(ENDPOINT_TYPES) == list(CONTRACT_TYPES)
    assert get_args(EndpointTypeLiteral) == ENDPOINT_TYPES
    choices = WebhookEndpoint._meta.get_field("type").choices
    assert [value for value, _ in choices] == list(ENDPOINT_TYPES)
    assert dict(choices)["Webhook::MessageStatusEndpoint"] == "Message Status"
    assert set(EVENTS) == {*CONTRACT_TYPES.values(), "ping"}


def test_a_new_event_is_one_class() -> None:
    """The recipe at the top of events.py works: fields become the body, nothing else."""

    @dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
    class SurveyResponse(WebhookEvent):
        EVENT: ClassVar[str] = "survey_response_test"
        ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::SurveyResponseEndpoint"

        process_id: str
        inquiry_id: str
        answers: dict[str, Any]
        completed_at: datetime

    try:
        event = SurveyResponse(process_id="p", inquiry_id="i", answers={"q1": 3},
                               completed_at=datetime(2021, 1, 1, tzinfo=UTC),
                               original_payload={"a": 1})
        assert EVENTS["survey_response_test"] is SurveyResponse
        assert event.payload(include_original=True) == {
            "process_id": "p", "inquiry_id": "i", "answers": {"q1": 3},
            "completed_at": "2021-01-01T00:00:00Z", "original_payload": {"a": 1},
        }
        assert event.process_id_value == "p"
    finally:
        EVENTS.pop("survey_response_test", None)


def test_an_event_name_cannot_be_taken_twice_or_left_out() -> None:
    with pytest.raises(TypeError, match="defined twice"):
        class Again(WebhookEvent):
            EVENT: ClassVar[str] = "message_sent"
            ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::MessageSentEndpoint"

    with pytest.raises(TypeError, match="must define EVENT"):
        class Nameless(WebhookEvent):
            ENDPOINT_TYPE: ClassVar[str | None] = None
    assert EVENTS["message_sent"] is type(SENT)
