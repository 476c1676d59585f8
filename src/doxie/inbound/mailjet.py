"""Mailjet event callbacks (``POST /hooks/mailjet/{token}``) → message statuses.

Accepted body: one event object, or a JSON array of them (Mailjet's "version 2" batching,
which the brand set-up registers). Each event, as Mailjet documents it::

    {"event": "sent" | "open" | "click" | "bounce" | "spam" | "blocked" | "unsub",
     "time": 1433333949,                      # unix seconds
     "MessageID": 19421777835146490,          # Mailjet's per-recipient id (number)
     "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
     "email": "api@mailjet.com",
     "CustomID": "<our public_id>",           # set by our adapter on every send
     "Payload": "", "mj_campaign_id": 7257, "mj_contact_id": 4, "customcampaign": "",
     # per event type:
     "smtp_reply": "sent (250 2.0.0 OK ...)",                        # sent
     "url": "https://...", "ip": "...", "geo": "..", "agent": "...", # click / open / unsub
     "blocked": false, "hard_bounce": true,                          # bounce
     "error_related_to": "recipient", "error": "user unknown",       # bounce / blocked
     "comment": "...", "source": "JMRPP", "mj_list_id": 1}           # bounce / spam / unsub

Mapping: ``sent`` means the recipient's server accepted the message, so it is our
``delivered``; ``open`` → opened, ``click`` → clicked, ``bounce`` → bounced, ``spam`` → spam,
``blocked`` → blocked, ``unsub`` → unsubscribed. Hard bounces and spam complaints add the
address to the tenant's suppression list. The event identity for deduplication is
(event, MessageID, time). Events we cannot read are logged and skipped so one bad event does
not make Mailjet retry a whole batch for ever; a body that is neither an object nor an array
is a 400.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from doxie.brands.models import Brand
from doxie.inbound.services import Rejected, StatusReport, apply_reports, as_uuid, parse_time
from doxie.messaging.models import MessageStatus as S

log = logging.getLogger("doxie.inbound")

SOURCE = "mailjet"
EVENT_STATUS: dict[str, str] = {
    "sent": S.DELIVERED,
    "open": S.OPENED,
    "click": S.CLICKED,
    "bounce": S.BOUNCED,
    "spam": S.SPAM,
    "blocked": S.BLOCKED,
    "unsub": S.UNSUBSCRIBED,
}
#: Fields worth keeping in the status history (no IP / user agent: personal data we do not need).
_DETAIL_FIELDS = (
    "email", "url", "smtp_reply", "error_related_to", "error", "comment", "source",
    "hard_bounce", "blocked", "Message_GUID",
)
#: Cap per callback: a batch larger than this is not Mailjet's.
MAX_EVENTS = 10_000


def parse_event(event: Any) -> StatusReport | None:
    """One Mailjet event as a report, or None when it is not one we act on."""
    if not isinstance(event, dict):
        return None
    kind = str(event.get("event") or "").strip().lower()
    status = EVENT_STATUS.get(kind)
    if status is None:
        return None
    provider_id = event.get("MessageID", event.get("mj_message_id"))
    provider_id = "" if provider_id in (None, "", 0) else str(provider_id)
    public_id = as_uuid(event.get("CustomID"))
    if public_id is None and not provider_id:
        return None
    raw_time = event.get("time")
    occurred_at = parse_time(raw_time) or timezone.now()
    detail: dict[str, Any] = {"event": kind}
    detail.update({k: event[k] for k in _DETAIL_FIELDS if event.get(k) not in (None, "")})
    if kind in ("bounce", "blocked") and event.get("error"):
        detail["reason"] = f"{kind}: {event['error']}"
    address = event.get("email") if isinstance(event.get("email"), str) else ""
    suppress: tuple[str, ...] = ()
    reason = ""
    if kind == "bounce" and event.get("hard_bounce") is True and address:
        suppress, reason = (address,), "hard_bounce"
    elif kind == "spam" and address:
        suppress, reason = (address,), "spam_complaint"
    return StatusReport(
        status=status,
        occurred_at=occurred_at,
        dedupe_key=f"{SOURCE}:{kind}:{provider_id or public_id}:{raw_time}",
        public_id=public_id,
        provider_id=provider_id,
        detail=detail,
        suppress=suppress,
        suppress_reason=reason,
    )


def parse(payload: Any) -> list[StatusReport]:
    """All reports of a callback body; raises ``Rejected(400)`` for a body of the wrong type."""
    if isinstance(payload, dict):
        events: list[Any] = [payload]
    elif isinstance(payload, list):
        events = payload
    else:
        raise Rejected(400, "Expected a JSON object or an array of Mailjet events")
    if len(events) > MAX_EVENTS:
        raise Rejected(400, f"More than {MAX_EVENTS} events in one callback")
    reports = []
    for event in events:
        report = parse_event(event)
        if report is None:
            # The event's type only: its body carries the recipient's address.
            kind = event.get("event") if isinstance(event, dict) else type(event).__name__
            log.info("mailjet event skipped (not a message event we track): %.40r", kind)
            continue
        reports.append(report)
    return reports


def handle(brand: Brand, payload: Any) -> None:
    """Apply a Mailjet callback for ``brand`` (one transaction for the whole batch)."""
    reports = parse(payload)
    if reports:
        apply_reports(brand, reports, source=SOURCE)
