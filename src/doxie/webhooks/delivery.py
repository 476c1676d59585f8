"""Webhook delivery on the core drain engine (``doxie.core.drain``): key = endpoint.

This module is webhooks' ``DrainSpec``: its claim query and its per-batch step (send,
record). Deferral, the budgeted loop with hand-over, scheduled wake-ups for retries and the
sweep's shape are the engine's. One drain run loops *claim → send → record* until nothing is
due:

* **claim** (one statement, own transaction): up to ``batch`` due rows of the endpoint,
  oldest first, ``FOR UPDATE SKIP LOCKED`` so concurrent drainers never share a row; they
  become ``delivering`` with a lease. Committed before any network I/O, so no transaction
  stays open while customers' servers think.
* **send**: concurrently (bounded per endpoint) through the SSRF-guarded ``SafeClient``,
  signed per Standard Webhooks. Nothing here touches the database.
* **record** (one transaction): every attempt is written to its row (latest result plus an
  ``attempts`` history entry), guarded by the lease token so a late result of a worker whose
  lease expired cannot overwrite a newer claim. Failures are rescheduled on the Standard
  Webhooks schedule (the engine schedules a drainer at the soonest retry); 410 and five
  days of nothing but failures deactivate the endpoint.

A worker killed between claim and record leaves ``delivering`` rows with an expired lease;
the sweep makes them due again (at-least-once delivery; receivers dedupe on ``webhook-id``).
Database work goes through ``sync_to_async`` in one call per step, so a step's transaction
never spans an ``await``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import secrets
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from doxie.core.drain import Batch, Drainer, DrainSpec, Run
from doxie.core.http import SafeClient
from doxie.core.timefmt import isoformat_z
from doxie.webhooks.dispatch import QUEUE
from doxie.webhooks.metrics import record_delivery
from doxie.webhooks.models import (
    PING_EVENT,
    InteractionStatus,
    WebhookEndpoint,
    WebhookInteraction,
)
from doxie.webhooks.sender import (
    Claimed,
    Outcome,
    Target,
    deliver_batch,
    pooled_client,
    request_timeout,
    setting,
)
from doxie.webhooks.services import deactivate
from doxie.webhooks.signing import secret_bytes

log = logging.getLogger("doxie.webhooks")

#: Waits after the 1st..7th failed attempt (Standard Webhooks / Svix), then give up.
RETRY_DELAYS = tuple(
    timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
DEACTIVATE_AFTER = timedelta(days=5)
_TABLE = WebhookInteraction._meta.db_table


def batch_size() -> int:
    return int(setting("DOXIE_WEBHOOK_BATCH_SIZE", 100))


def concurrency() -> int:
    return int(setting("DOXIE_WEBHOOK_CONCURRENCY", 10))


def max_retry_after() -> float:
    return float(setting("DOXIE_WEBHOOK_MAX_RETRY_AFTER", 24 * 3600))


@dataclass
class Claim:
    """A claimed batch: the endpoint as read at claim time, its rows and the lease token."""

    target: Target | None
    rows: list[Claimed] = field(default_factory=list)
    token: str = ""


# --- database steps (sync; each its own transaction) --------------------------------------


def _target(endpoint: WebhookEndpoint, now: datetime) -> Target:
    keys = [secret_bytes(endpoint.signing_secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_signing_secret and expires and expires > now:
        keys.append(secret_bytes(endpoint.previous_signing_secret))
    auth = None
    if endpoint.basic_auth_username:
        auth = (endpoint.basic_auth_username, endpoint.basic_auth_password or "")
    return Target(endpoint.id, endpoint.url, auth, tuple(keys), endpoint.is_active)


def lease_duration(size: int, parallel: int, timeout: float) -> timedelta:
    """Long enough for the slowest possible batch, so only a dead worker's lease expires."""
    return timedelta(seconds=math.ceil(size / max(1, parallel)) * (timeout + 5) + 60)


def claim_batch(
    endpoint_id: int, limit: int, lease: timedelta, token: str | None = None
) -> Claim:
    """Claim up to ``limit`` due rows (an inactive endpoint only gets its test pings)."""
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.filter(id=endpoint_id).first()
    if endpoint is None:
        return Claim(None)
    target = _target(endpoint, now)
    token = token or secrets.token_hex(16)
    only_pings = "" if endpoint.is_active else "AND event = %(ping)s"
    sql = f"""
        UPDATE {_TABLE} SET status = 'delivering', claimed_until = %(lease)s,
               lease_token = %(token)s, updated_at = %(now)s
        WHERE id IN (
            SELECT id FROM {_TABLE}
            WHERE endpoint_id = %(endpoint)s AND status = 'pending'
              AND next_attempt_at <= %(now)s {only_pings}
            ORDER BY created_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED)
        RETURNING id, event, event_id, sent_payload::text, attempt_count, created_at
    """  # noqa: S608 - table name is ours, values are parameters
    params = {
        "lease": now + lease, "token": token, "now": now, "endpoint": endpoint_id,
        "limit": limit, "ping": PING_EVENT,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = sorted(cursor.fetchall(), key=lambda r: (r[5], r[0]))
    rows = [
        Claimed(id=r[0], event=r[1], event_id=r[2], body=_body_bytes(r[3]), attempt=r[4] + 1)
        for r in fetched
    ]
    return Claim(target, rows, token)


def _body_bytes(stored: str) -> bytes:
    """The exact bytes sent (and signed): compact JSON of the stored payload."""
    return json.dumps(json.loads(stored), separators=(",", ":"), ensure_ascii=False).encode()


def retry_delays() -> tuple[timedelta, ...]:
    """The schedule: Standard Webhooks' by default; ``DOXIE_WEBHOOK_RETRY_DELAYS`` (seconds,
    comma-separated) replaces it, e.g. for fault drills that must finish in minutes."""
    custom = setting("DOXIE_WEBHOOK_RETRY_DELAYS", None)
    return tuple(timedelta(seconds=s) for s in custom) if custom else RETRY_DELAYS


def next_delay(attempt: int, retry_after: float | None = None) -> timedelta | None:
    """Wait before the attempt after failed attempt number ``attempt``; None = give up."""
    delays = retry_delays()
    if attempt >= len(delays) + 1:
        return None
    base = delays[attempt - 1].total_seconds()
    delay = base * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_retry_after()))
    return timedelta(seconds=delay)


# One statement for the whole batch (a VALUES list), guarded by the lease token.
_UPDATE_ROW = (
    "(%s::bigint, %s::varchar, %s::timestamptz, %s::int, %s::timestamptz, %s::int,"
    " %s::jsonb, %s::int, %s::text, %s::jsonb)"
)
_UPDATE_SQL = f"""
    UPDATE {_TABLE} AS t SET status = v.status, next_attempt_at = v.next_at,
           claimed_until = NULL, lease_token = NULL, attempt_count = v.attempt,
           retry_count = v.attempt - 1, last_attempt_at = v.at, requested_method = 'POST',
           response_code = v.code, response_payload = v.payload, duration_ms = v.duration,
           error = v.error, attempts = t.attempts || v.entry, updated_at = %s
    FROM (VALUES {{rows}}) AS v(id, status, next_at, attempt, at, code, payload, duration,
                              error, entry)
    WHERE t.id = v.id AND t.lease_token = %s AND t.status = 'delivering'
"""  # noqa: S608 - table name is ours, values are parameters


def record_results(endpoint_id: int, token: str, outcomes: list[Outcome]) -> list[int]:
    """Write every attempt, reschedule or finish rows, apply the deactivation rules.

    Returns the ids of rows rescheduled (for tests and the bench)."""
    now = timezone.now()
    rescheduled: list[int] = []
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(no_key=True).filter(id=endpoint_id).first()
        )
        if endpoint is None:
            return []  # deleted meanwhile, and its log with it
        params = []
        for o in outcomes:
            status, next_at = "failed", None
            if o.kind == "success":
                status = "succeeded"
            elif o.kind == "retry" and endpoint.is_active:
                delay = next_delay(o.row.attempt, o.retry_after)
                if delay is not None:
                    status, next_at = "pending", o.attempted_at + delay
                    rescheduled.append(o.row.id)
                else:
                    o.error = f"{o.error}; gave up after {o.row.attempt} attempts"
            entry = {
                "attempt": o.row.attempt,
                "at": isoformat_z(o.attempted_at),
                "response_code": o.response_code,
                "duration_ms": o.duration_ms,
                "error": o.error or None,
            }
            payload = None if o.response_payload is None else json.dumps(o.response_payload)
            params.extend((
                o.row.id, status, next_at, o.row.attempt, o.attempted_at,
                o.response_code, payload, o.duration_ms, o.error, json.dumps([entry]),
            ))
        if outcomes:
            sql = _UPDATE_SQL.format(rows=", ".join([_UPDATE_ROW] * len(outcomes)))
            with connection.cursor() as cursor:
                cursor.execute(sql, [now, *params, token])
        _apply_endpoint_rules(endpoint, outcomes, now)
    return rescheduled


def _apply_endpoint_rules(
    endpoint: WebhookEndpoint, outcomes: list[Outcome], now: datetime
) -> None:
    """Success clears the failure record; 410 or 5 days of only failures deactivate."""
    if not outcomes:
        return
    if any(o.kind == "success" for o in outcomes):
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since", "updated_at"])
    elif endpoint.failing_since is None:
        endpoint.failing_since = min(o.attempted_at for o in outcomes)
        endpoint.save(update_fields=["failing_since", "updated_at"])
    if not endpoint.is_active:
        return
    gone = next((o for o in outcomes if o.kind == "gone"), None)
    if gone is not None:
        deactivate(endpoint, f"endpoint answered {gone.response_code} Gone")
    elif endpoint.failing_since is not None and now - endpoint.failing_since >= DEACTIVATE_AFTER:
        deactivate(endpoint, "every delivery failed for 5 days")


# --- the spec on the core drain engine -----------------------------------------------------


class EndpointDrain(DrainSpec[int, Claimed]):
    """Webhooks' part of the drain: claim an endpoint's due rows, deliver them, record.

    ``run.memo["client"]`` overrides the worker's pooled client for the endpoint (tests)."""

    def time_budget(self) -> float:
        return float(setting("DOXIE_WEBHOOK_DRAIN_BUDGET", 60.0))

    def claim(self, run: Run[int]) -> Batch[Claimed] | None:
        size = batch_size()
        lease = lease_duration(size, concurrency(), request_timeout())
        claim = claim_batch(run.key, size, lease, token=run.token)
        if claim.target is None:
            return None  # the endpoint was deleted
        return Batch(claim.rows, bool(claim.rows), context=claim)

    async def process(self, run: Run[int], batch: Batch[Claimed]) -> int:
        claim: Claim = batch.context
        assert claim.target is not None  # claim() answers None for a deleted endpoint
        client: SafeClient | None = run.memo.get("client")
        holder: AbstractAsyncContextManager[SafeClient] = (
            nullcontext(client) if client is not None
            else pooled_client(run.key, claim.target.url)
        )
        async with holder as http:
            outcomes = await deliver_batch(http, claim.target, batch.rows, concurrency())
        await sync_to_async(record_results)(run.key, run.token, outcomes)
        for outcome in outcomes:
            record_delivery(outcome.kind)
        return len(outcomes)

    def next_due(self, key: int) -> datetime | None:
        """The soonest pending row the claim would take (an inactive endpoint: pings)."""
        active = WebhookEndpoint.objects.filter(id=key, is_active=True)
        return WebhookInteraction.objects.filter(
            endpoint_id=key, status=InteractionStatus.PENDING
        ).filter(Q(Exists(active)) | Q(event=PING_EVENT)).aggregate(
            due=Min("next_attempt_at"))["due"]

    def release_claimed(self, run: Run[int]) -> int:
        """Cancelled mid-batch (shutdown): this run's unrecorded rows are due again now."""
        now = timezone.now()
        return WebhookInteraction.objects.filter(
            endpoint_id=run.key, status=InteractionStatus.DELIVERING, lease_token=run.token
        ).update(status=InteractionStatus.PENDING, claimed_until=None, lease_token=None,
                 next_attempt_at=now, updated_at=now)

    def release_expired(self, now: datetime) -> int:
        """Rows whose drainer died mid-batch (lease expired) become due again."""
        return WebhookInteraction.objects.filter(
            status=InteractionStatus.DELIVERING, claimed_until__lt=now
        ).update(
            status=InteractionStatus.PENDING, claimed_until=None, lease_token=None,
            next_attempt_at=now, updated_at=now,
        )

    def due_keys(self, now: datetime) -> list[int]:
        """Every active endpoint with due rows (retries, lost jobs)."""
        due = WebhookInteraction.objects.filter(
            endpoint=OuterRef("pk"), status=InteractionStatus.PENDING, next_attempt_at__lte=now,
        )
        return list(
            WebhookEndpoint.objects.filter(is_active=True).filter(Exists(due))
            .values_list("id", flat=True)
        )


DRAIN: Drainer[int, Claimed] = Drainer(QUEUE, EndpointDrain())


async def drain_endpoint(
    endpoint_id: int, *, client: SafeClient | None = None, budget: float | None = None
) -> int:
    """Deliver everything due for one endpoint; returns the number of attempts made.

    ``client`` overrides the worker's pooled client for the endpoint's origin (tests).
    After ``budget`` seconds (``DOXIE_WEBHOOK_DRAIN_BUDGET``, 60) the run hands over to a
    fresh drainer job, so one busy endpoint cannot hold a worker slot forever.
    """
    return await DRAIN.run(endpoint_id, budget=budget,
                           memo={"client": client} if client is not None else None)
