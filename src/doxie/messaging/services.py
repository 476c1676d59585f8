"""Messaging use cases: the Mailer (P3), cancelling a process's messages (P7), the
suppression list.

Each use case is one transaction: the process, its messages, their first status rows, the
tracked links, the idempotency record and the drainer deferral commit together or vanish
together, so a 2xx answer never loses its messages and an error never leaves half of them.

The Mailer costs a fixed number of queries whatever the number of templates and recipients:
rows are built in memory and written with one bulk INSERT per table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from doxie.core.db import savepoint
from doxie.core.errors import Conflict, FieldError, Invalid
from doxie.messaging import queueing, rendering, secret_links, selectors
from doxie.messaging.models import (
    Channel,
    EmailTemplate,
    IdempotencyRecord,
    Message,
    MessageStatus,
    MessageStatusEvent,
    RcsTemplate,
    SmsTemplate,
    Suppression,
    TrackedLink,
)
from doxie.processes import selectors as process_selectors
from doxie.processes import services as process_services
from doxie.processes.models import Event, EventKind, Process, ProcessKind, ProcessStatus
from doxie.tenants.models import Tenant
from doxie.webhooks.events import MessageSent

IDEMPOTENCY_TTL = timedelta(hours=24)
#: Result list of each template kind in the Mailer response.
GROUPS = {
    Channel.EMAIL: "sent_email_templates",
    Channel.SMS: "sent_sms_templates",
    Channel.RCS: "sent_rcs_templates",
}


# --- the Mailer -------------------------------------------------------------------------------


@dataclass
class _Draft:
    """One message to be: a recipient of a template, its content and whether it may go."""

    recipient: str
    content: dict[str, Any]
    status: str = MessageStatus.QUEUED
    reason: str = ""
    links: dict[str, str] = field(default_factory=dict)
    message: Message | None = None


@dataclass
class _Plan:
    """One template's outcome: its drafts, or the error that stopped it."""

    channel: str
    name: str
    template: Any
    drafts: list[_Draft] = field(default_factory=list)
    error: str | None = None
    track: bool = True

    def result(self) -> dict[str, Any]:
        if self.error is not None:
            return _result(self.name, False, None, self.error)
        queued = [d for d in self.drafts if d.status == MessageStatus.QUEUED]
        first = (queued or self.drafts)[0].message
        skipped = "; ".join(d.reason for d in self.drafts if d.status != MessageStatus.QUEUED)
        return _result(self.name, bool(queued), first.id if first else None, skipped or None)


def _result(name: str, success: bool, message_id: int | None, error: str | None) -> dict:
    return {
        "template_name": name,
        "success": success,
        "message_id": message_id,
        "error_message": error,
    }


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_event(event: Event, payload: dict[str, Any]) -> None:
    if event.kind != EventKind.MAILER:
        raise Invalid.one(
            "event_slug",
            f"event '{event.slug}' is a {event.kind} event; the Mailer sends mailer events only",
        )
    missing = [name for name in event.required_parameters if _blank(payload.get(name))]
    if missing:
        raise Invalid(
            [FieldError(name, "is required") for name in missing],
            message=f"Missing required parameters: {', '.join(missing)}",
        )


def _plan_email(template: EmailTemplate, context: dict[str, Any]) -> _Plan:
    plan = _Plan(Channel.EMAIL, template.name, template)
    try:
        addresses = rendering.recipients(template.to, context, rendering.normalize_email)
        reply_to = rendering.render(template.reply_to, context, what="reply_to").strip()
        content = {
            "subject": rendering.one_line(
                rendering.render(template.subject, context, what="subject")
            ),
            "html": rendering.render(template.html, context, html=True, what="html"),
            "text": rendering.render(template.text, context, what="text"),
            "reply_to": rendering.normalize_email(reply_to) if reply_to else "",
        }
    except (rendering.RenderError, rendering.InvalidRecipient) as exc:
        plan.error = str(exc)
        return plan
    if not content["html"].strip() and not content["text"].strip():
        plan.error = "the template rendered neither an HTML nor a text body"
        return plan
    plan.drafts = [_Draft(address, content) for address in addresses]
    return plan


def _plan_sms(template: SmsTemplate, context: dict[str, Any]) -> _Plan:
    plan = _Plan(Channel.SMS, template.name, template)
    try:
        numbers = rendering.recipients(template.to, context, rendering.normalize_phone)
        text = rendering.render(template.text, context, what="text").strip()
    except (rendering.RenderError, rendering.InvalidRecipient) as exc:
        plan.error = str(exc)
        return plan
    if not text:
        plan.error = "the template rendered an empty text"
        return plan
    plan.drafts = [_Draft(number, {"text": text}) for number in numbers]
    return plan


def _plan_rcs(template: RcsTemplate, context: dict[str, Any]) -> _Plan:
    plan = _Plan(Channel.RCS, template.name, template)
    try:
        numbers = rendering.recipients(template.to, context, rendering.normalize_phone)
        content = rendering.render_json(template.content, context)
    except (rendering.RenderError, rendering.InvalidRecipient) as exc:
        plan.error = str(exc)
        return plan
    if not isinstance(content, dict) or not str(content.get("text", "")).strip():
        plan.error = "the template rendered no content.text"
        return plan
    plan.drafts = [_Draft(number, {"content": content}) for number in numbers]
    return plan


def _gate(tenant: Tenant, event: Event, plans: list[_Plan]) -> None:
    """Suppression list first, then the event's required consent: drafts that may not go
    keep their content (the record of the decision) with status ``suppressed``."""
    drafts = [d for plan in plans for d in plan.drafts]
    if not drafts:
        return
    blocked = selectors.suppressed(tenant, (d.recipient for d in drafts))
    for draft in drafts:
        if draft.recipient in blocked:
            draft.status = MessageStatus.SUPPRESSED
            draft.reason = (
                f"{draft.recipient} is on the suppression list ({blocked[draft.recipient]})"
            )
    slug = event.required_consent_slug
    open_drafts = [d for d in drafts if d.status == MessageStatus.QUEUED]
    if not slug or not open_drafts:
        return
    from doxie.consents.selectors import confirmed_channel_values

    confirmed = confirmed_channel_values(tenant, slug, [d.recipient for d in open_drafts])
    for draft in open_drafts:
        if draft.recipient not in confirmed:
            draft.status = MessageStatus.SUPPRESSED
            draft.reason = f"{draft.recipient} has no confirmed consent for '{slug}'"


def _build(plan: _Plan, draft: _Draft, process: Process, event: Event) -> Message:
    template, content, brand = plan.template, draft.content, event.brand
    common = {"process": process, "brand": brand, "recipient": draft.recipient,
              "template_name": plan.name, "event": event}
    if plan.channel == Channel.EMAIL:
        html = content["html"]
        if html and template.track_links and plan.track and draft.status == MessageStatus.QUEUED:
            html, draft.links = rendering.rewrite_links(html, settings.DOXIE_PUBLIC_URL)
        text = content["text"] or (rendering.html_to_text(html) if html else "")
        message = queueing.build_email(
            sender=template.sender, sender_name=template.sender_name,
            reply_to=content["reply_to"], subject=content["subject"], html=html, text=text,
            **common,
        )
    elif plan.channel == Channel.SMS:
        sender = template.sender or brand.sender_phone_number or ""
        message = queueing.build_sms(text=content["text"], sender=sender, **common)
    else:
        message = queueing.build_rcs(content=content["content"], sender=template.sender, **common)
    message.status = draft.status
    message.status_reason = draft.reason
    draft.message = message
    return message


@dataclass
class EventPlans:
    """An event's templates rendered for one payload and gated (suppression, consent):
    what ``queue_event_messages`` will write. ``results`` are the Mailer's per-template
    entries, grouped by channel."""

    plans: list[_Plan]
    messages: list[Message] = field(default_factory=list)
    #: Secret links ({name: url}): only placeholders in the bodies, the values sealed in
    #: each message's ``secret_values`` (``messaging.secret_links``).
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def anything_queued(self) -> bool:
        return any(d.status == MessageStatus.QUEUED for p in self.plans for d in p.drafts)

    def results(self) -> dict[str, list[dict[str, Any]]]:
        return {group: [p.result() for p in self.plans if p.channel == channel]
                for channel, group in GROUPS.items()}


def plan_event_messages(
    *, tenant: Tenant, event: Event, context: dict[str, Any], track_links: bool = True,
    secrets: dict[str, str] | None = None,
) -> EventPlans:
    """Render every template of ``event`` with ``context`` and apply the gates, writing
    nothing (the Mailer, survey invitations and reminders). ``secrets`` ({name: url}) are
    rendered as their placeholders and reach only the provider's copy; ``track_links=False``
    keeps links as written."""
    secrets = dict(secrets or {})
    context = {**context, **{name: secret_links.placeholder(name) for name in secrets}}
    templates = selectors.event_templates(event)
    plans = [
        *(_plan_email(t, context) for t in templates.email),
        *(_plan_sms(t, context) for t in templates.sms),
        *(_plan_rcs(t, context) for t in templates.rcs),
    ]
    if not track_links:
        for plan in plans:
            if plan.channel == Channel.EMAIL:
                plan.track = False
    _gate(tenant, event, plans)
    return EventPlans(plans, secrets=secrets)


def queue_event_messages(*, tenant: Tenant, event: Event, process: Process,
                         planned: EventPlans) -> list[Message]:
    """Write the planned messages of ``process`` (and their tracked links) and wake the
    drainers, in the caller's transaction; the drainer deferral comes last because its
    queueing lock is what concurrent requests for the brand wait on."""
    messages = [_build(plan, d, process, event) for plan in planned.plans for d in plan.drafts]
    if planned.secrets:
        sealed = secret_links.seal(planned.secrets)
        for message in messages:
            message.secret_values = sealed
    queueing.insert_messages(messages)
    links = [
        TrackedLink(tenant=tenant, message=d.message, token=token, url=url)
        for plan in planned.plans for d in plan.drafts for token, url in d.links.items()
    ]
    if links:
        TrackedLink.objects.bulk_create(links)
    queueing.wake_drainers(messages)
    planned.messages = messages
    return messages


def _send_event(tenant: Tenant, event_slug: str, payload: dict[str, Any]) -> dict[str, Any]:
    event = process_selectors.get_event(tenant, event_slug)
    _check_event(event, payload)
    planned = plan_event_messages(tenant=tenant, event=event, context=dict(payload))
    anything_queued = planned.anything_queued
    plans = planned.plans
    now = timezone.now()
    process = process_services.create_process(
        tenant=tenant, kind=ProcessKind.MAILER, event=event, original_payload=payload,
        status=ProcessStatus.ACTIVE if anything_queued else ProcessStatus.FINISHED,
        finished_at=None if anything_queued else now,
    )
    queue_event_messages(tenant=tenant, event=event, process=process, planned=planned)
    body: dict[str, Any] = {
        "success": anything_queued or not plans,
        "error_message": None if anything_queued or not plans else (
            "No message was sent; see the template results"
        ),
        "process_uuid": str(process.uuid),
    }
    body.update(planned.results())
    return body


def request_hash(scope: str, event_slug: str, payload: Any) -> str:
    """Semantic identity of a request: key order and whitespace do not matter."""
    canonical = json.dumps([scope, event_slug, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any]]:
    if record.request_hash != digest:
        raise Conflict("This Idempotency-Key was already used for a different request")
    return record.status_code, record.response


def _claim_key(
    tenant: Tenant, scope: str, key: str, digest: str
) -> tuple[IdempotencyRecord | None, tuple[int, dict[str, Any]] | None]:
    """(our new record, None) or (None, the stored response to replay).

    The INSERT is what makes concurrent requests with one key safe: the second one blocks
    on the unique index until the first commits (-> IntegrityError -> replay) or rolls
    back (-> it proceeds itself).
    """
    existing = IdempotencyRecord.objects.filter(tenant=tenant, scope=scope, key=key).first()
    if existing is not None:
        if existing.created_at >= timezone.now() - IDEMPOTENCY_TTL:
            return None, _replay(existing, digest)
        existing.delete()
    try:
        with savepoint():
            record = IdempotencyRecord.objects.create(
                tenant=tenant, scope=scope, key=key, request_hash=digest, status_code=0,
                response={},
            )
    except IntegrityError:
        winner = IdempotencyRecord.objects.get(tenant=tenant, scope=scope, key=key)
        return None, _replay(winner, digest)
    return record, None


@dataclass
class MailerOutcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@transaction.atomic
def send_event(
    *, tenant: Tenant, event_slug: str, payload: dict[str, Any],
    idempotency_key: str | None = None,
) -> MailerOutcome:
    """P3: render every template of the event and queue its messages.

    With an ``idempotency_key`` the first successful response is stored for 24 h: the same
    key and body replays it (nothing new is sent), another body is a 409. Failed requests
    (404/422) store nothing, so a corrected retry with the same key is processed.
    """
    record = None
    if idempotency_key:
        digest = request_hash("mailer", event_slug, payload)
        record, replay = _claim_key(tenant, "mailer", idempotency_key, digest)
        if replay is not None:
            return MailerOutcome(replay[0], replay[1], replayed=True)
    body = _send_event(tenant, event_slug, payload)
    if record is not None:
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=200, response=body)
    return MailerOutcome(200, body)


# --- P7: cancel -------------------------------------------------------------------------------


def _pending(process: Process) -> bool:
    return Message.objects.filter(
        process=process, status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)
    ).exists()


def cancel_messages(messages: list[Message], *, at: datetime, reason: str) -> int:
    """Cancel not-yet-sent messages with a history row each (no status webhook: the process
    cancellation is the notification). Call with the rows locked."""
    if not messages:
        return 0
    Message.objects.filter(id__in=[m.id for m in messages]).update(
        status=MessageStatus.CANCELLED, status_reason=reason, next_attempt_at=None,
        claimed_until=None, lease_token=None, updated_at=at,
    )
    MessageStatusEvent.objects.bulk_create(
        MessageStatusEvent(
            tenant_id=m.tenant_id, message_id=m.id, status=MessageStatus.CANCELLED,
            occurred_at=at, detail={"reason": reason},
        )
        for m in messages
    )
    return len(messages)


def cancel_process_messages(*, process: Process, at: datetime) -> int:
    """Cancel the process's queued messages (any process kind that sends messages calls
    this from its canceller). Runs in the P7 transaction with the process row locked."""
    queued = Message.objects.select_for_update().filter(
        process=process, status=MessageStatus.QUEUED
    )
    return cancel_messages(list(queued.only("id", "tenant_id")), at=at,
                           reason="process cancelled")


def cancel_mailer_process(*, process: Process, at: datetime) -> dict[str, int]:
    """P7's canceller for mailer processes (registered in ``MessagingConfig.ready``): a
    mailer process with no message left to send is finished, whatever its status says."""
    if not _pending(process):
        raise Conflict("The process is already finished; nothing is left to cancel")
    return {"messages": cancel_process_messages(process=process, at=at)}


def emit_sent(brand: Any, sent: list[tuple[int, Any, datetime]]) -> None:
    """``message_sent`` for ``(message id, SendResult, sent at)`` triples, in the caller's
    transaction, as one ``emit_many``; one query when nobody listens."""
    from doxie.webhooks.selectors import endpoints
    from doxie.webhooks.services import emit_many

    if not sent or not endpoints(brand.tenant).filter(type=MessageSent.ENDPOINT_TYPE).exists():
        return
    by_id = {message_id: (result, at) for message_id, result, at in sent}
    events = []
    for message in Message.objects.filter(id__in=list(by_id)).select_related("process", "event"):
        result, at = by_id[message.id]
        ids = list(dict.fromkeys(result.recipient_message_ids.values())) or (
            [result.provider_message_id] if result.provider_message_id else []
        )
        events.append(MessageSent(
            process_id=str(message.process.uuid),
            message_type=message.channel,
            message_id=message.id,
            recipient_specific_message_ids=tuple(ids),
            recipient=message.recipient,
            subject=message.subject or None,
            text=message.text or None,
            html=message.html or None,
            original_brand_slug=brand.slug,
            original_tenant_slug=brand.tenant.slug,
            original_event_slug=message.event.slug if message.event else None,
            timestamp=at,
            original_payload=message.process.original_payload,
        ))
    emit_many(tenant=brand.tenant, events=events)


# --- suppression list -------------------------------------------------------------------------


def normalize_address(address: str) -> str:
    """The suppression list's spelling: lower-case email, or E.164 phone number."""
    address = address.strip()
    if "@" in address:
        return address.lower()
    try:
        return rendering.normalize_phone(address)
    except rendering.InvalidRecipient:
        return address


@transaction.atomic
def suppress(
    *, tenant: Tenant, address: str, reason: str, source_message: Message | None = None
) -> bool:
    """Add an address (idempotent); True when it was not on the list before."""
    try:
        with savepoint():
            Suppression.objects.create(
                tenant=tenant, address=normalize_address(address), reason=reason[:64],
                source_message=source_message,
            )
    except IntegrityError:
        return False
    return True


@transaction.atomic
def unsuppress(*, tenant: Tenant, address: str) -> bool:
    deleted, _ = Suppression.objects.filter(
        tenant=tenant, address=normalize_address(address)
    ).delete()
    return bool(deleted)


# --- sends of other apps' steps (journeys) -----------------------------------------------------


@dataclass(frozen=True)
class StepSend:
    """One template of ``event`` for an existing process (a journey run's send step)."""

    process: Process
    event: Event
    template_name: str
    payload: dict[str, Any]


@dataclass
class StepResult:
    message_ids: list[int]
    queued: int
    error: str | None


def queue_step_sends(*, tenant: Tenant, sends: list[StepSend]) -> list[StepResult]:
    """Render, gate (suppression, consent) and queue the named templates, one result per
    send in order, through the Mailer's own pipeline (tracked links, drainer wake-up,
    ``message_sent`` on delivery). Call in the caller's transaction; a fixed number of
    queries per call whatever the number of sends (templates are read once per event)."""
    if not sends:
        return []
    by_event: dict[int, Any] = {}
    for send in sends:
        if send.event.id not in by_event:
            by_event[send.event.id] = selectors.event_templates(send.event)
    plans: list[_Plan | None] = []
    for send in sends:
        templates = by_event[send.event.id]
        plan = None
        for items, planner in (
            (templates.email, _plan_email), (templates.sms, _plan_sms),
            (templates.rcs, _plan_rcs),
        ):
            found = next((t for t in items if t.name == send.template_name), None)
            if found is not None:
                plan = planner(found, dict(send.payload))
                break
        plans.append(plan)
    for event_id in by_event:
        event = next(s.event for s in sends if s.event.id == event_id)
        _gate(tenant, event, [p for p, s in zip(plans, sends, strict=True)
                              if p is not None and s.event.id == event_id])
    messages: list[Message] = []
    for plan, send in zip(plans, sends, strict=True):
        if plan is not None:
            messages += [_build(plan, d, send.process, send.event) for d in plan.drafts]
    queueing.insert_messages(messages)
    links = [
        TrackedLink(tenant=tenant, message=d.message, token=token, url=url)
        for plan in plans if plan is not None
        for d in plan.drafts for token, url in d.links.items()
    ]
    if links:
        TrackedLink.objects.bulk_create(links)
    queueing.wake_drainers(messages)
    results = []
    for plan, send in zip(plans, sends, strict=True):
        if plan is None:
            results.append(StepResult([], 0, f"no template '{send.template_name}'"))
            continue
        queued = [d for d in plan.drafts if d.status == MessageStatus.QUEUED]
        skipped = "; ".join(d.reason for d in plan.drafts if d.status != MessageStatus.QUEUED)
        results.append(StepResult(
            [d.message.id for d in plan.drafts if d.message is not None], len(queued),
            plan.error or skipped or None,
        ))
    return results
