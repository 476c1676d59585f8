"""seven.io hook calls (``POST /hooks/seven/{token}``): SMS delivery reports, RCS events, replies.

The brand set-up subscribes hooks with ``request_method=JSON``, so every call is one object::

    {"webhook_event": "dlr" | "rcs" | "rcs_dlr" | "rcs_mo" | ...,
     "webhook_timestamp": "2021-08-24T08:08:00+02:00",
     "data": {...}}

``dlr`` (SMS status change)::

    {"msg_id": "77149843739", "status": "DELIVERED", "timestamp": "2021-08-24 08:08:00.000000",
     "foreign_id": "<our public_id>"}          # foreign_id when seven echoes it

DELIVERED → delivered; NOTDELIVERED, REJECTED, EXPIRED, FAILED → failed; TRANSMITTED,
ACCEPTED, BUFFERED → sent (history only once a message is past sent); anything else
(UNKNOWN, …) is ignored.

``rcs`` / ``rcs_dlr`` status event::

    {"agent_id": "doxie_agent", "sender": "491234567890", "status": "DELIVERED" | "READ"
     | "IS_TYPING", "foreign_id": "<our public_id>" | null, "msg_id": "...", "timestamp": "..."}

DELIVERED → delivered, READ → opened, FAILED → failed, IS_TYPING ignored.

``rcs`` / ``rcs_mo`` user message (a reply)::

    {"id": 123, "message_type": "RCS", "agent_id": "doxie_agent", "sender": "491234567890",
     "time": 1711455463, "content_type": "text" | "suggestion_response" | "location"
     | "user_file",
     "text": "...",
     | "suggestion_response": {"postbackData": "...", "text": "...", "type": "REPLY"}
     | "location": {"latitude": 48.1, "longitude": 11.5}
     | "user_file": {"payload": {"fileName", "fileSizeBytes", "fileUri", "mimeType"},
                     "thumbnail": {"fileSizeBytes", "fileUri", "mimeType"}}}   # thumbnail optional

A reply emits ``rcs_response`` with the seed's payload: the process of the latest RCS our
tenant sent to that number, that message's id, agent, sender, time and ``message_content``
holding only the key that is present, in the seed's snake_case (``postback_data``,
``mime_type``, ``file_size``, ``file_name``; ``file_uri`` kept too). A reply from a number we
never sent an RCS to has no process and is logged and skipped. Duplicates are recognised by
seven's message ``id`` (see :class:`doxie.inbound.models.InboundReceipt`).

seven.io writes naive time stamps in German local time; they are read as Europe/Berlin.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from doxie.brands.models import Brand
from doxie.inbound.services import (
    Rejected,
    StatusReport,
    apply_reports,
    as_uuid,
    claim_receipt,
    parse_time,
)
from doxie.messaging.models import Channel, Message
from doxie.messaging.models import MessageStatus as S
from doxie.webhooks.events import RcsResponse
from doxie.webhooks.services import emit

log = logging.getLogger("doxie.inbound")

SOURCE = "seven"
SEVEN_TZ = ZoneInfo("Europe/Berlin")
DLR_STATUS: dict[str, str] = {
    "DELIVERED": S.DELIVERED,
    "NOTDELIVERED": S.FAILED,
    "REJECTED": S.FAILED,
    "EXPIRED": S.FAILED,
    "FAILED": S.FAILED,
    "TRANSMITTED": S.SENT,
    "ACCEPTED": S.SENT,
    "BUFFERED": S.SENT,
}
RCS_STATUS: dict[str, str] = {"DELIVERED": S.DELIVERED, "READ": S.OPENED, "FAILED": S.FAILED}
RCS_EVENTS = frozenset({"rcs", "rcs_dlr", "rcs_mo"})
REPLY_KINDS = ("text", "suggestion_response", "location", "user_file")
#: Never reached the recipient, so a reply cannot be an answer to them.
_NOT_SENT = (S.QUEUED, S.SENDING, S.CANCELLED, S.SUPPRESSED, S.FAILED)


def _report(kind: str, data: dict[str, Any], status_map: dict[str, str]) -> StatusReport | None:
    raw_status = str(data.get("status") or "").strip().upper()
    status = status_map.get(raw_status)
    msg_id = data.get("msg_id", data.get("id"))
    provider_id = "" if msg_id in (None, "") else str(msg_id)
    public_id = as_uuid(data.get("foreign_id"))
    if status is None or (public_id is None and not provider_id):
        return None
    detail: dict[str, Any] = {"event": kind, "provider_status": raw_status}
    if status == S.FAILED:
        detail["reason"] = f"{kind}: {raw_status}"
    return StatusReport(
        status=status,
        occurred_at=parse_time(data.get("timestamp"), naive_tz=SEVEN_TZ) or timezone.now(),
        dedupe_key=f"{SOURCE}:{kind}:{provider_id or public_id}:{raw_status}",
        public_id=public_id,
        provider_id=provider_id,
        detail=detail,
    )


def parse_dlr(data: dict[str, Any]) -> StatusReport | None:
    return _report("dlr", data, DLR_STATUS)


def parse_rcs_status(data: dict[str, Any]) -> StatusReport | None:
    return _report("rcs", data, RCS_STATUS)


def _file(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict):
        return None
    values = {
        "mime_type": part.get("mimeType", part.get("mime_type")),
        "file_size": part.get("fileSizeBytes", part.get("file_size")),
        "file_name": part.get("fileName", part.get("file_name")),
        "file_uri": part.get("fileUri", part.get("file_uri")),
    }
    return {k: v for k, v in values.items() if v is not None}


def reply_content(data: dict[str, Any]) -> dict[str, Any] | None:
    """The seed's ``message_content``: exactly one of text / suggestion_response / location /
    user_file, in snake_case; None when the event is not a user message."""
    kind = data.get("content_type")
    if kind not in REPLY_KINDS:
        kind = next((k for k in REPLY_KINDS if data.get(k) not in (None, "")), None)
    value = data.get(kind) if kind else None
    if kind is None or value in (None, ""):
        return None
    if kind == "text":
        return {"text": str(value)}
    if not isinstance(value, dict):
        return None
    if kind == "suggestion_response":
        return {"suggestion_response": {
            "postback_data": value.get("postbackData", value.get("postback_data")),
            "text": value.get("text"),
            "type": value.get("type"),
        }}
    if kind == "location":
        return {"location": {"latitude": value.get("latitude"),
                             "longitude": value.get("longitude")}}
    user_file = {name: _file(value.get(name)) for name in ("thumbnail", "payload")}
    return {"user_file": {k: v for k, v in user_file.items() if v is not None}}


def _sender_forms(sender: str) -> list[str]:
    """seven writes numbers without ``+``; we store E.164 with it. Match either form."""
    digits = sender.strip().removeprefix("+")
    return [digits, f"+{digits}"]


def last_rcs_message(brand: Brand, sender: str) -> Message | None:
    """The latest RCS our tenant sent to ``sender`` (what the reply most likely answers)."""
    return (
        Message.objects.filter(
            tenant_id=brand.tenant_id, channel=Channel.RCS, recipient__in=_sender_forms(sender)
        )
        .exclude(status__in=_NOT_SENT)
        .select_related("process", "tenant")
        .order_by("-id")
        .first()
    )


def _receipt_key(data: dict[str, Any], sender: str, content: dict[str, Any]) -> str:
    if data.get("id") not in (None, ""):
        return f"{SOURCE}:rcs_reply:{data['id']}"
    digest = hashlib.sha256(
        json.dumps([sender, data.get("time"), content], sort_keys=True).encode()
    ).hexdigest()
    return f"{SOURCE}:rcs_reply:sha256:{digest}"


@transaction.atomic
def handle_reply(brand: Brand, data: dict[str, Any], content: dict[str, Any]) -> bool:
    """Emit ``rcs_response`` for a reply, once; True when it was emitted."""
    sender = str(data.get("sender") or "").strip()
    message = last_rcs_message(brand, sender) if sender else None
    if message is None:
        log.info("RCS reply for brand %s from a number without an RCS process skipped", brand.pk)
        return False
    if not claim_receipt(brand=brand, key=_receipt_key(data, sender, content), message=message):
        return False  # the same reply again
    occurred_at = parse_time(data.get("time"), naive_tz=SEVEN_TZ) or timezone.now()
    process = message.process
    emit(tenant=message.tenant, event=RcsResponse(
        process_id=str(process.uuid),
        message_id=message.id,
        agent_id=data.get("agent_id"),
        sender=sender,
        timestamp=occurred_at,
        message_content=content,
        original_payload=process.original_payload,
    ))
    return True


def handle(brand: Brand, payload: Any) -> None:
    """Dispatch one seven.io hook call for ``brand``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise Rejected(400, "Expected a seven.io webhook object with a data object")
    event = str(payload.get("webhook_event") or "").strip().lower()
    data: dict[str, Any] = payload["data"]
    report: StatusReport | None = None
    if event == "dlr":
        report = parse_dlr(data)
    elif event in RCS_EVENTS and data.get("status") not in (None, ""):
        report = parse_rcs_status(data)
    elif event in RCS_EVENTS:
        content = reply_content(data)
        if content is not None:
            handle_reply(brand, data, content)
            return
    if report is None:
        log.info("seven.io %r event for brand %s ignored", event, brand.pk)
        return
    apply_reports(brand, [report], source=SOURCE)
