"""Amazon SES events via SNS (``POST /hooks/ses/{token}``) → message statuses.

The body is an SNS HTTP(S) message (SNS sends it as ``text/plain``)::

    {"Type": "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation",
     "MessageId": "...", "TopicArn": "arn:aws:sns:eu-central-1:123456789012:doxie-acme-brand",
     "Subject": "...",                     # optional, Notification only
     "Message": "<SES event as a JSON string>",
     "Timestamp": "2024-01-01T12:00:00.000Z", "SignatureVersion": "1" | "2",
     "Signature": "<base64>", "SigningCertURL": "https://sns.<region>.amazonaws.com/...pem",
     "SubscribeURL": "...", "Token": "...",        # confirmations only
     "UnsubscribeURL": "..."}                      # notifications only

Every message must carry a valid SNS signature (:mod:`doxie.inbound.sns`; forged → 403) and
come from the brand's own topic (the name the SES set-up gives it, or the brand's recorded
configuration set — anything else is 403, as AWS advises). A ``SubscriptionConfirmation`` is
confirmed by GETting its ``SubscribeURL``.

``Message`` of a notification is an SES event of a configuration-set event destination
(``eventType``) — or a classic identity notification (``notificationType``)::

    {"eventType": "Send" | "Delivery" | "Bounce" | "Complaint" | "Reject" | "Open" | "Click"
                  | "Rendering Failure" | "DeliveryDelay" | "Subscription",
     "mail": {"timestamp", "messageId", "source", "destination": [...],
              "commonHeaders": {"messageId": "<public_id@domain>", ...},
              "tags": {"doxie_message_id": ["<public_id>"], ...}},
     "bounce": {"bounceType": "Permanent" | "Transient" | "Undetermined", "bounceSubType",
                "bouncedRecipients": [{"emailAddress", "diagnosticCode", ...}],
                "timestamp", "feedbackId"},
     "complaint": {"complainedRecipients": [{"emailAddress"}], "complaintFeedbackType",
                   "timestamp", "feedbackId"},
     "delivery": {"timestamp", "recipients", "smtpResponse"}, "send": {},
     "reject": {"reason"}, "open": {"timestamp", ...}, "click": {"timestamp", "link", ...},
     "failure": {"errorMessage", "templateName"}, "deliveryDelay": {...}}

The message is found by ``mail.messageId`` (= our ``provider_message_id``) or by our id in the
``doxie_message_id`` tag / the Message-ID header. Mapping: Send → sent, Delivery → delivered,
Bounce → bounced (Permanent: the bounced recipients are suppressed), Complaint → spam
(complainants suppressed; feedback type ``not-spam`` is ignored), Reject → blocked,
Open → opened, Click → clicked, Rendering Failure → failed; DeliveryDelay and Subscription
change nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils import timezone

from doxie.brands.models import Brand
from doxie.inbound import sns
from doxie.inbound.services import Rejected, StatusReport, apply_reports, as_uuid, parse_time
from doxie.messaging.models import MessageStatus as S

log = logging.getLogger("doxie.inbound")

SOURCE = "ses"
#: Normalised event type (lower case, no blanks) -> (our status, key of the event's object).
EVENTS: dict[str, tuple[str, str]] = {
    "send": (S.SENT, "send"),
    "delivery": (S.DELIVERED, "delivery"),
    "bounce": (S.BOUNCED, "bounce"),
    "complaint": (S.SPAM, "complaint"),
    "reject": (S.BLOCKED, "reject"),
    "open": (S.OPENED, "open"),
    "click": (S.CLICKED, "click"),
    "renderingfailure": (S.FAILED, "failure"),
}


def _addresses(items: Any) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        item["emailAddress"] for item in items
        if isinstance(item, dict) and isinstance(item.get("emailAddress"), str)
    )


def _first_tag(tags: Any, name: str) -> Any:
    values = tags.get(name) if isinstance(tags, dict) else None
    return values[0] if isinstance(values, list) and values else values


def _details(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """History detail, with a human-readable ``reason`` for negative outcomes."""
    detail: dict[str, Any] = {"event": kind}
    reason = ""
    if kind == "bounce":
        detail.update(bounce_type=body.get("bounceType"), bounce_sub_type=body.get("bounceSubType"))
        recipients = body.get("bouncedRecipients")
        first = recipients[0] if isinstance(recipients, list) and recipients else {}
        diagnostic = first.get("diagnosticCode") if isinstance(first, dict) else None
        if diagnostic:
            detail["diagnostic_code"] = diagnostic
        reason = f"bounce: {body.get('bounceType')}/{body.get('bounceSubType')}"
        reason += f": {diagnostic}" if diagnostic else ""
    elif kind == "complaint":
        detail["complaint_feedback_type"] = body.get("complaintFeedbackType")
    elif kind == "delivery":
        detail["smtp_response"] = body.get("smtpResponse")
    elif kind == "click":
        detail["url"] = body.get("link")
    elif kind == "reject":
        reason = f"rejected: {body.get('reason')}"
    elif kind == "renderingfailure":
        reason = f"rendering failure: {body.get('errorMessage')}"
    if reason:
        detail["reason"] = reason
    return {k: v for k, v in detail.items() if v not in (None, "")}


def parse_event(event: Any, *, sns_message_id: str = "") -> StatusReport | None:
    """An SES event (the decoded SNS ``Message``) as a report; None when nothing to apply."""
    if not isinstance(event, dict):
        return None
    kind = str(event.get("eventType") or event.get("notificationType") or "")
    kind = kind.replace(" ", "").lower()
    if kind not in EVENTS:
        return None
    status, body_key = EVENTS[kind]
    mail = event.get("mail") if isinstance(event.get("mail"), dict) else {}
    body = event.get(body_key) if isinstance(event.get(body_key), dict) else {}
    if kind == "complaint" and body.get("complaintFeedbackType") == "not-spam":
        return None
    provider_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else ""
    headers = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    public_id = as_uuid(_first_tag(mail.get("tags"), "doxie_message_id")) or as_uuid(
        headers.get("messageId")
    )
    if public_id is None and not provider_id:
        return None
    occurred_at = (
        parse_time(body.get("timestamp")) or parse_time(mail.get("timestamp")) or timezone.now()
    )
    identity = body.get("feedbackId") or body.get("timestamp") or sns_message_id
    suppress: tuple[str, ...] = ()
    suppress_reason = ""
    if kind == "bounce" and body.get("bounceType") == "Permanent":
        suppress, suppress_reason = _addresses(body.get("bouncedRecipients")), "hard_bounce"
    elif kind == "complaint":
        suppress, suppress_reason = _addresses(body.get("complainedRecipients")), "spam_complaint"
    return StatusReport(
        status=status,
        occurred_at=occurred_at,
        dedupe_key=f"{SOURCE}:{kind}:{provider_id or public_id}:{identity}",
        public_id=public_id,
        provider_id=provider_id,
        detail=_details(kind, body),
        suppress=suppress,
        suppress_reason=suppress_reason,
    )


def allowed_topics(brand: Brand) -> set[str]:
    """Topic names that may report for ``brand``: the set-up's name and the recorded one."""
    from doxie.brands.provider_setup import ses_resource_name  # boto3 only when SES is used

    return {name for name in (brand.ses_configuration_set, ses_resource_name(brand)) if name}


def handle(brand: Brand, message: Any) -> None:
    """Authenticate an SNS message for ``brand`` and act on it (confirm or apply)."""
    if not isinstance(message, dict) or not isinstance(message.get("Type"), str):
        raise Rejected(400, "Expected an SNS message (a JSON object with a Type)")
    topic = str(message.get("TopicArn") or "").rsplit(":", 1)[-1]
    if topic not in allowed_topics(brand):
        log.warning("SNS message from unexpected topic %r for brand %s", topic, brand.pk)
        raise Rejected(403, "Unexpected TopicArn")
    try:
        sns.verify(message)
        if message["Type"] == sns.SUBSCRIPTION_CONFIRMATION:
            sns.confirm_subscription(message)
            return
    except sns.SnsError as exc:
        log.warning("SNS message for brand %s refused: %s", brand.pk, exc)
        raise Rejected(403, "Invalid SNS message signature") from exc
    except sns.SnsUnavailable as exc:
        log.warning("SNS message for brand %s not processed: %s", brand.pk, exc)
        raise Rejected(503, "Amazon SNS unavailable; retry later") from exc
    if message["Type"] != sns.NOTIFICATION:
        log.info("SNS %s for brand %s acknowledged", message["Type"], brand.pk)
        return
    try:
        event = json.loads(message["Message"])
    except (TypeError, ValueError):
        event = None
    report = parse_event(event, sns_message_id=str(message.get("MessageId") or ""))
    if report is None:
        log.info("SNS notification %s for brand %s carries no SES event we track",
                 message.get("MessageId"), brand.pk)
        return
    apply_reports(brand, [report], source=SOURCE)
