"""Journey use cases: P4 (inject a contact), P7's canceller, the message-event listener
that wakes ``wait_for`` steps, and publishing a definition as a new version.

P4 is one transaction: the process (kind ``injector``), the run and the engine's wake-up
commit together, so a 200 never loses its run and an error leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from doxie.core import clock
from doxie.core.errors import Conflict, FieldError, Invalid, NotFound
from doxie.journeys import definition as d
from doxie.journeys.engine import QUEUE
from doxie.journeys.models import JourneyRun, JourneyVersion, RunState
from doxie.messaging import rendering
from doxie.messaging.services import cancel_process_messages
from doxie.processes import selectors as process_selectors
from doxie.processes import services as process_services
from doxie.processes.models import Event, EventKind, Process, ProcessKind
from doxie.tenants.models import Tenant


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def contact_key(version: JourneyVersion, payload: dict[str, Any], fallback: str) -> str:
    """sha256 of the rendered ``key`` template (the contact), else of ``fallback``."""
    source = version.definition.get("key")
    value = fallback
    if source:
        try:
            value = rendering.render(source, payload, what="key").strip().lower() or fallback
        except rendering.RenderError as exc:
            raise Invalid.one("key", f"the journey key cannot be rendered: {exc}") from None
    return hashlib.sha256(f"{version.event_id}:{value}".encode()).hexdigest()


def _check_reentry(version: JourneyVersion, key: str, now: datetime) -> None:
    rule = version.definition.get("reentry", "always")
    if rule == "always":
        return
    # Serialise injections of one contact into one event, so "once" holds under races.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    earlier = JourneyRun.objects.filter(event_id=version.event_id, contact_key=key)
    if rule == "once":
        if earlier.exists():
            raise Conflict("Re-entry refused: the journey's rule is 'once' and this contact "
                           "has already entered it")
        return
    cooldown = d.parse_duration(rule["cooldown"]) or 0
    from datetime import timedelta

    if earlier.filter(created_at__gt=now - timedelta(seconds=cooldown)).exists():
        raise Conflict(f"Re-entry refused: the journey's rule is 'cooldown: "
                       f"{rule['cooldown']}' and this contact entered it within that time")


@dataclass
class Injection:
    process: Process
    run: JourneyRun


@transaction.atomic
def inject(*, tenant: Tenant, event_slug: str, payload: dict[str, Any]) -> Injection:
    """P4: validate the payload, apply the re-entry rule, create the process and the run
    (due now) and wake the engine."""
    event = process_selectors.get_event(tenant, event_slug)
    if event.kind != EventKind.INJECTOR:
        raise Invalid.one("event_slug", f"event '{event.slug}' is a {event.kind} event; "
                          "injections need an injector event")
    missing = [name for name in event.required_parameters if _blank(payload.get(name))]
    if missing:
        raise Invalid([FieldError(name, "is required") for name in missing],
                      message=f"Missing required parameters: {', '.join(missing)}")
    version = JourneyVersion.objects.filter(event=event).order_by("-number").first()
    if version is None:
        raise Invalid.one("event_slug", f"event '{event.slug}' has no journey configured")
    now = clock.now()
    process = process_services.create_process(
        tenant=tenant, kind=ProcessKind.INJECTOR, event=event, original_payload=payload)
    key = contact_key(version, payload, str(process.uuid))
    _check_reentry(version, key, now)
    run = JourneyRun.objects.create(
        tenant=tenant, process=process, version=version, event=event, contact_key=key,
        wake_at=now,
    )
    QUEUE.wake([(tenant.id, now)])
    return Injection(process, run)


def cancel_injection(*, process: Process, at: datetime) -> dict[str, int]:
    """P7's canceller for injector processes: the run stops (a batch holding it finishes
    first: its row lock), its queued messages are cancelled. A run that ended is 409."""
    run = JourneyRun.objects.select_for_update().filter(process=process).first()
    if run is None or run.state != RunState.ACTIVE:
        raise Conflict("The process is already finished; nothing is left to cancel")
    JourneyRun.objects.filter(pk=run.pk).update(
        state=RunState.CANCELLED, ended_at=at, wake_at=None, waiting=None, waiting_op="",
        exit_reason="cancelled", lease_token=None, claimed_until=None, updated_at=at)
    return {"messages": cancel_process_messages(process=process, at=at), "journey_steps": 1}


def on_message_event(message: Any, status: str, occurred_at: datetime) -> None:
    """Messaging's listener: a status of a run's own message wakes the run at once when it
    waits in a ``wait_for`` (the step itself decides whether this status satisfies it)."""
    process = message.process
    if process is None or process.kind != ProcessKind.INJECTOR:
        return
    now = clock.now()
    woken = JourneyRun.objects.filter(
        process_id=process.id, state=RunState.ACTIVE, waiting_op="wait_for"
    ).update(wake_at=now)
    if woken:
        QUEUE.wake([(process.tenant_id, now)])


def publish_version(*, tenant: Tenant, event: Event, compiled: d.Compiled) -> \
        tuple[JourneyVersion, bool]:
    """The event's current version, or a new one when the definition changed (runs in
    flight keep theirs). Returns (version, created)."""
    current = JourneyVersion.objects.filter(event=event).order_by("-number").first()
    if current is not None and current.digest == compiled.digest:
        return current, False
    version = JourneyVersion.objects.create(
        tenant=tenant, event=event, number=(current.number + 1) if current else 1,
        definition=compiled.definition, program=compiled.program, digest=compiled.digest)
    return version, True


def get_injector_event(tenant: Tenant, slug: str) -> Event:
    event = process_selectors.get_event(tenant, slug)
    if event.kind != EventKind.INJECTOR:
        raise NotFound(f"Event '{slug}' has no journey")
    return event
