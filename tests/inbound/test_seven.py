"""seven.io hook calls (``request_method=JSON``): SMS delivery reports, RCS statuses, replies."""

from __future__ import annotations

import pytest

from doxie.inbound.models import InboundReceipt
from doxie.messaging.models import Message, MessageStatusEvent
from doxie.webhooks.models import WebhookInteraction
from tests.helpers import ApiClient, run_jobs
from tests.inbound.support import (
    ORIGINAL,
    RCS_ENDPOINT,
    history,
    make_brand,
    make_endpoint,
    make_message,
    make_process,
    received,
)

SMS_ID = "77149843739"
PHONE = "+491234567890"


def dlr(msg_id: str, status: str, **extra) -> dict:
    return {
        "webhook_event": "dlr",
        "webhook_timestamp": "2021-08-24T08:08:00+02:00",
        "data": {"msg_id": msg_id, "status": status,
                 "timestamp": "2021-08-24 08:08:00.000000", **extra},
    }


def rcs(data: dict) -> dict:
    return {"webhook_event": "rcs", "webhook_timestamp": "2026-03-26T13:17:43+01:00",
            "data": data}


def rcs_status(msg_id: str, status: str, foreign_id: str | None = None) -> dict:
    return rcs({"agent_id": "doxie_agent", "sender": PHONE.lstrip("+"), "status": status,
                "foreign_id": foreign_id, "msg_id": msg_id,
                "timestamp": "2026-03-26 13:17:43"})


def reply(content_type: str, value, *, event_id: int = 981, sender: str = "491234567890"):
    return rcs({"id": event_id, "message_type": "RCS", "agent_id": "doxie_agent",
                "sender": sender, "time": 1774527463, "content_type": content_type,
                content_type: value})


def post(brand, body=None, raw: bytes | None = None):
    return ApiClient().post(f"/hooks/seven/{brand.inbound_token}", body, raw=raw)


@pytest.fixture
def sms(brand) -> Message:
    return make_message(brand, channel="sms", recipient=PHONE, provider="seven",
                        provider_message_id=SMS_ID)


@pytest.mark.django_db
def test_dlr_delivered_updates_status_once(tenant, brand, sms, receiver):
    make_endpoint(tenant, receiver)
    for _ in range(2):
        assert post(brand, dlr(SMS_ID, "DELIVERED")).status_code == 200
    sms.refresh_from_db()
    assert sms.status == "delivered"
    assert history(sms) == [("delivered", "seven")]
    (row,) = WebhookInteraction.objects.filter(event="message_status_update")
    assert row.sent_payload["message_type"] == "sms"
    assert row.sent_payload["timestamp"] == "2021-08-24T06:08:00Z"  # seven writes Berlin time


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "ours"), [
    ("NOTDELIVERED", "failed"), ("REJECTED", "failed"), ("EXPIRED", "failed"),
    ("FAILED", "failed"), ("TRANSMITTED", "sent"), ("BUFFERED", "sent"), ("ACCEPTED", "sent"),
    ("UNKNOWN", "sent"),
])
def test_dlr_status_mapping(brand, sms, status, ours):
    assert post(brand, dlr(SMS_ID, status)).status_code == 200
    sms.refresh_from_db()
    assert sms.status == ours
    if ours == "failed":
        assert sms.status_reason == f"dlr: {status}"


@pytest.mark.django_db
def test_dlr_matches_foreign_id_and_late_buffered_does_not_regress(brand):
    message = make_message(brand, channel="sms", recipient=PHONE, status="sending")
    post(brand, dlr("999", "DELIVERED", foreign_id=str(message.public_id)))
    post(brand, dlr("999", "BUFFERED", foreign_id=str(message.public_id)))
    message.refresh_from_db()
    assert message.status == "delivered"
    assert [s for s, _ in history(message)] == ["delivered", "sent"]


@pytest.mark.django_db
def test_rcs_read_then_delivered_stays_opened(tenant, brand, receiver):
    make_endpoint(tenant, receiver)
    message = make_message(brand, channel="rcs", recipient=PHONE, provider_message_id="rcs-1")
    post(brand, rcs_status("rcs-1", "READ"))
    post(brand, rcs_status("rcs-1", "DELIVERED"))
    post(brand, rcs_status("rcs-1", "IS_TYPING"))
    message.refresh_from_db()
    assert message.status == "opened"
    statuses = WebhookInteraction.objects.values_list("sent_payload__status", flat=True)
    assert list(statuses) == ["opened"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_rcs_reply_emits_rcs_response_for_the_latest_process_once(tenant, receiver):
    brand = make_brand(tenant)
    older = make_message(brand, channel="rcs", recipient=PHONE, provider_message_id="r-1",
                         process=make_process(brand, original_payload={"round": 1}))
    latest = make_message(brand, channel="rcs", recipient=PHONE, provider_message_id="r-2",
                          process=make_process(brand, original_payload=ORIGINAL))
    make_message(brand, channel="rcs", recipient=PHONE, status="cancelled")  # never sent
    assert older.id < latest.id
    _, secret = make_endpoint(tenant, receiver, type=RCS_ENDPOINT)
    body = reply("text", "This is a test RCS message.")

    assert post(brand, body).status_code == 200
    assert post(brand, body).status_code == 200  # seven retries: one webhook only
    run_jobs()

    (payload,) = received(receiver, secret, "rcs_response")
    assert payload == {
        "process_id": str(latest.process.uuid),
        "message_id": latest.id,
        "agent_id": "doxie_agent",
        "sender": "491234567890",
        "timestamp": "2026-03-26T12:17:43Z",
        "message_content": {"text": "This is a test RCS message."},
        "original_payload": ORIGINAL,
    }
    assert InboundReceipt.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("content_type", "value", "expected"), [
    ("suggestion_response",
     {"postbackData": "1234567890", "text": "Yes please", "type": "REPLY"},
     {"suggestion_response": {"postback_data": "1234567890", "text": "Yes please",
                              "type": "REPLY"}}),
    ("location", {"latitude": 48.137154, "longitude": 11.576124},
     {"location": {"latitude": 48.137154, "longitude": 11.576124}}),
    ("user_file",
     {"payload": {"fileName": "test.jpg", "fileSizeBytes": 1000, "mimeType": "image/jpeg",
                  "fileUri": "https://rcs.example/f/1"},
      "thumbnail": {"fileSizeBytes": 100, "mimeType": "image/jpeg",
                    "fileUri": "https://rcs.example/t/1"}},
     {"user_file": {
         "payload": {"file_name": "test.jpg", "file_size": 1000, "mime_type": "image/jpeg",
                     "file_uri": "https://rcs.example/f/1"},
         "thumbnail": {"file_size": 100, "mime_type": "image/jpeg",
                       "file_uri": "https://rcs.example/t/1"}}}),
])
def test_rcs_reply_content_has_only_the_present_key(tenant, brand, receiver, content_type,
                                                    value, expected):
    make_message(brand, channel="rcs", recipient=PHONE)
    make_endpoint(tenant, receiver, type=RCS_ENDPOINT)
    assert post(brand, reply(content_type, value)).status_code == 200
    (row,) = WebhookInteraction.objects.filter(event="rcs_response")
    assert row.sent_payload["message_content"] == expected


@pytest.mark.django_db
def test_reply_from_unknown_number_or_other_tenant_is_skipped(tenant, other_tenant, brand,
                                                             receiver):
    other_brand = make_brand(other_tenant, slug="other")
    make_message(other_brand, channel="rcs", recipient=PHONE)  # another tenant's RCS
    make_endpoint(tenant, receiver, type=RCS_ENDPOINT)
    assert post(brand, reply("text", "hi")).status_code == 200
    assert post(brand, reply("text", "hi", sender="4900000", event_id=2)).status_code == 200
    assert not WebhookInteraction.objects.exists()


@pytest.mark.django_db
def test_other_events_are_acknowledged(brand, sms):
    body = {"webhook_event": "sms_mo", "webhook_timestamp": "2020-12-02 11:55:44",
            "data": {"id": "681590", "sender": "SMS", "system": "491771783130",
                     "text": "Hello World", "time": "1605878104", "message_type": "SMS"}}
    assert post(brand, body).status_code == 200
    assert post(brand, dlr("no-such-id", "DELIVERED")).status_code == 200
    assert not MessageStatusEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"webhook_event": "dlr"}',
                                 b'{"webhook_event": "dlr", "data": "x"}'])
def test_malformed_body_is_400(brand, raw):
    assert post(brand, raw=raw).status_code == 400


@pytest.mark.django_db
def test_unknown_token_is_404(sms):
    assert ApiClient().post("/hooks/seven/nope", dlr(SMS_ID, "DELIVERED")).status_code == 404
    sms.refresh_from_db()
    assert sms.status == "sent"
