"""Message delivery on the core drain engine (``doxie.core.drain``): key = brand.

This module is messaging's ``DrainSpec``: its claim query and its per-batch step (send,
record). Deferral, the budgeted loop with hand-over, wake-ups of future rows (retries,
scheduled sends) and the sweep's shape are the engine's. A drain run holds one of the
brand's ``DrainerLease`` slots and loops *claim -> send -> record* until nothing is due.
A brand gets one slot per ``DOXIE_MESSAGING_DRAINER_RATE`` (250) messages/second of its
``messages_per_second``, at most ``DOXIE_MESSAGING_MAX_DRAINERS`` (4); each run paces
itself at the brand's rate divided by its slots, so the brand's limit holds however many
drainer jobs a burst starts, on however many worker processes. A run
that claims a full batch while slots are free defers one more drainer (fan-out), which is
how a busy high-rate brand spreads over several worker processes and cores.

* **claim** (own transaction): renew the slot, then up to ``batch`` due messages, oldest
  first, ``FOR UPDATE SKIP LOCKED`` so concurrent runs never share a row. Under that row lock
  the state is re-checked: only ``queued`` rows are taken (a row another run claimed or sent
  is never taken again) and rows whose process was cancelled are cancelled instead of sent
  (cancel wins). Claimed rows become ``sending`` with a lease; committed before any I/O.
  A batch holds about one second of the run's rate, so a cancellation reaches everything
  not yet in the batch being handed over.
* **send**: concurrently (bounded) through the brand's cached adapter, paced by a token
  bucket. No database access.
* **record** (one transaction): sent rows get provider ids, ``sent_at``, a history row and a
  ``message_sent`` webhook; retryable failures go back to ``queued`` with capped exponential
  back-off and jitter (``Retry-After`` honoured); permanent failures and exhausted retries
  become ``failed`` through ``record_status`` (``message_status_update``). Every write is
  guarded by the claim's lease token, so a run whose lease expired cannot overwrite a newer
  claim.

A retry or scheduled send due later gets a drainer scheduled at its due time (the engine's
``wake_at``). A worker killed between claim and record leaves ``sending`` rows with an
expired lease; the sweep requeues them (at-least-once: our id in Message-ID / CustomID /
foreign_id lets the provider and recipients recognise a repeat).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from doxie.core.drain import Batch, Drainer, DrainSpec, Run
from doxie.messaging import queueing, secret_links
from doxie.messaging.models import Channel, DrainerLease, Message, MessageStatus
from doxie.messaging.models import MessageStatusEvent as History
from doxie.messaging.services import cancel_messages, emit_sent
from doxie.messaging.statuses import record_status
from doxie.providers import registry
from doxie.providers.base import (
    EmailMessage,
    PermanentError,
    RcsMessage,
    RetryableError,
    SendResult,
    SmsMessage,
)

log = logging.getLogger("doxie.messaging")

_MSG = Message._meta.db_table
_PROCESS = "messaging_process"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def slots_for(rate: int) -> int:
    """How many drainer runs may send for a brand with this ``messages_per_second``."""
    per_drainer = max(1, int(_setting("DOXIE_MESSAGING_DRAINER_RATE", 250)))
    most = max(1, int(_setting("DOXIE_MESSAGING_MAX_DRAINERS", 4)))
    return max(1, min(most, math.ceil(max(1, rate) / per_drainer)))


def batch_size(rate: float) -> int:
    """About one second of a run's rate, within [10, DOXIE_MESSAGING_BATCH_SIZE]."""
    return max(10, min(int(_setting("DOXIE_MESSAGING_BATCH_SIZE", 200)), int(rate) or 10))


def concurrency() -> int:
    return int(_setting("DOXIE_MESSAGING_CONCURRENCY", 32))


def max_attempts() -> int:
    return int(_setting("DOXIE_MESSAGING_MAX_ATTEMPTS", 12))


def lease_duration(size: int, rate: float) -> timedelta:
    """Long enough for the slowest batch (timeouts, pacing), so only a dead worker's expires."""
    sending = math.ceil(size / max(1, concurrency())) * (registry.SMTP_READ_TIMEOUT + 5)
    return timedelta(seconds=sending + size / max(1, rate) + 60)


def retry_delay(attempt: int, retry_after: float | None = None) -> timedelta:
    """Capped exponential back-off with ±20 % jitter after failed attempt ``attempt``."""
    base = float(_setting("DOXIE_MESSAGING_RETRY_BASE", 5.0))
    cap = float(_setting("DOXIE_MESSAGING_RETRY_CAP", 3600.0))
    delay = min(cap, base * 2 ** max(0, attempt - 1)) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 6 * 3600.0))
    return timedelta(seconds=delay)


@dataclass
class Outgoing:
    """A claimed message, as much of it as sending and recording need."""

    id: int
    tenant_id: int
    public_id: str
    process_id: int
    channel: str
    recipient: str
    sender: str
    sender_name: str
    reply_to: str
    subject: str
    html: str
    text: str
    rcs_content: dict[str, Any]
    headers: dict[str, str]
    attempt: int  # the number of this attempt (1-based)
    secrets: dict[str, str] = field(default_factory=dict)  # see messaging.secret_links


@dataclass
class Claim:
    brand: Any = None  # brands.Brand with provider parts loaded; None: no slot or no brand
    rows: list[Outgoing] = field(default_factory=list)
    claimed_any: bool = False  # rows were claimed (some may have been cancelled instead)
    rate: float = 0.0  # this run's share of the brand's messages_per_second
    full: bool = False  # the batch was full: more is probably due
    free_slots: int = 0


@dataclass
class Outcome:
    row: Outgoing
    kind: str  # "sent" | "retry" | "failed"
    at: datetime
    result: SendResult | None = None
    provider: str = ""
    error: str = ""
    retry_after: float | None = None


# --- database steps (sync; each its own transaction) ----------------------------------------


_CLAIM_SQL = f"""
    WITH due AS (
        SELECT id FROM {_MSG}
        WHERE brand_id = %(brand)s AND status = 'queued' AND next_attempt_at <= %(now)s
        ORDER BY next_attempt_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    UPDATE {_MSG} m SET status = 'sending', claimed_until = %(until)s, lease_token = %(token)s,
           updated_at = %(now)s
    FROM due, {_PROCESS} p
    WHERE m.id = due.id AND p.id = m.process_id
    RETURNING m.id, m.tenant_id, m.public_id, m.process_id, p.status, m.channel, m.recipient,
              m.sender, m.sender_name, m.reply_to, m.subject, m.html, m.text,
              m.rcs_content::text, m.headers::text, m.attempts, m.secret_values
"""  # noqa: S608 - table names are ours, values are parameters


def claim_batch(brand_id: int, token: str) -> Claim:
    """Claim about a second's worth of the brand's due messages (see the module docstring)."""
    from doxie.brands.models import Brand
    from doxie.brands.selectors import PART_ACCESSORS

    brand = Brand.objects.select_related("tenant", *PART_ACCESSORS).filter(id=brand_id).first()
    if brand is None:
        return Claim()
    slots = slots_for(brand.messages_per_second)
    rate = max(0.1, brand.messages_per_second / slots)
    size = batch_size(rate)
    lease = lease_duration(size, rate)
    now = timezone.now()
    slot, held = DrainerLease.objects.acquire(brand_id, token, now + lease, slots)
    if slot is None:
        return Claim()
    params = {"brand": brand_id, "now": now, "limit": size, "until": now + lease,
              "token": token}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, params)
            fetched = sorted(cursor.fetchall(), key=lambda r: r[0])
        rows, cancelled = [], []
        for r in fetched:
            if r[4] == "cancelled":
                cancelled.append(Message(id=r[0], tenant_id=r[1]))
                continue
            rows.append(Outgoing(
                id=r[0], tenant_id=r[1], public_id=str(r[2]), process_id=r[3], channel=r[5],
                recipient=r[6], sender=r[7], sender_name=r[8], reply_to=r[9], subject=r[10],
                html=r[11], text=r[12], rcs_content=json.loads(r[13] or "{}"),
                headers=json.loads(r[14] or "{}"), attempt=r[15] + 1,
                secrets=secret_links.unseal(r[16], encrypted=True),
            ))
        cancel_messages(cancelled, at=now, reason="process cancelled")
    return Claim(brand, rows, bool(fetched), rate, len(fetched) == size, slots - held)


# Set-based writes: one statement per outcome kind, whatever the batch size. The lease token
# in the WHERE clause is the guard against a run whose lease expired; RETURNING tells which
# rows were still ours.
_SENT_SQL = f"""
    UPDATE {_MSG} m SET status = 'sent', provider = v.provider, provider_message_id = v.pid,
           recipient_message_ids = v.rids::jsonb, sent_at = v.at, attempts = v.attempt,
           status_reason = '', claimed_until = NULL, lease_token = NULL,
           next_attempt_at = NULL, secret_values = '', updated_at = %(now)s
    FROM unnest(%(ids)s::bigint[], %(providers)s::text[], %(pids)s::text[], %(rids)s::text[],
                %(ats)s::timestamptz[], %(attempts)s::int[])
         AS v(id, provider, pid, rids, at, attempt)
    WHERE m.id = v.id AND m.lease_token = %(token)s AND m.status = 'sending'
    RETURNING m.id
"""  # noqa: S608 - table names are ours, values are parameters
_RETRY_SQL = f"""
    UPDATE {_MSG} m SET status = 'queued', next_attempt_at = v.due, attempts = v.attempt,
           status_reason = v.reason, claimed_until = NULL, lease_token = NULL,
           updated_at = %(now)s
    FROM unnest(%(ids)s::bigint[], %(dues)s::timestamptz[], %(attempts)s::int[],
                %(reasons)s::text[]) AS v(id, due, attempt, reason)
    WHERE m.id = v.id AND m.lease_token = %(token)s AND m.status = 'sending'
    RETURNING m.id
"""  # noqa: S608
_FAILING_SQL = f"""
    UPDATE {_MSG} m SET attempts = v.attempt, status_reason = v.reason, claimed_until = NULL,
           next_attempt_at = NULL, lease_token = NULL, secret_values = '', updated_at = %(now)s
    FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(reasons)s::text[])
         AS v(id, attempt, reason)
    WHERE m.id = v.id AND m.lease_token = %(token)s AND m.status = 'sending'
    RETURNING m.id
"""  # noqa: S608
_HISTORY_SQL = f"""
    INSERT INTO {History._meta.db_table}
        (tenant_id, message_id, status, occurred_at, source, detail, dedupe_key, created_at,
         updated_at)
    SELECT v.tenant, v.message, v.status, v.at, v.source, v.detail::jsonb, '', %(now)s, %(now)s
    FROM unnest(%(tenants)s::bigint[], %(ids)s::bigint[], %(statuses)s::text[],
                %(ats)s::timestamptz[], %(sources)s::text[], %(details)s::text[])
         AS v(tenant, message, status, at, source, detail)
"""  # noqa: S608
_FINISH_SQL = f"""
    UPDATE {_PROCESS} p SET status = 'finished', finished_at = %(now)s, updated_at = %(now)s
    WHERE p.id = ANY(%(ids)s) AND p.status = 'active' AND p.kind = 'mailer'
      AND NOT EXISTS (SELECT 1 FROM {_MSG} m
                      WHERE m.process_id = p.id AND m.status IN ('queued', 'sending'))
"""  # noqa: S608


def _returning(cursor: Any, sql: str, params: dict[str, Any]) -> set[int]:
    if not params["ids"]:
        return set()
    cursor.execute(sql, params)
    return {row[0] for row in cursor.fetchall()}


def record_results(brand: Any, token: str, outcomes: list[Outcome]) -> None:
    """Write the batch's outcomes in one transaction (see the module docstring)."""
    now = timezone.now()
    limit = max_attempts()
    for o in outcomes:
        if o.kind == "retry" and o.row.attempt >= limit:
            o.kind, o.error = "failed", f"{o.error}; gave up after {o.row.attempt} attempts"
    sent = [o for o in outcomes if o.kind == "sent"]
    retry = [o for o in outcomes if o.kind == "retry"]
    failed = [o for o in outcomes if o.kind == "failed"]
    dues = [o.at + retry_delay(o.row.attempt, o.retry_after) for o in retry]
    results = [o.result or SendResult(provider_message_id=None) for o in sent]
    base = {"now": now, "token": token}
    with transaction.atomic(), connection.cursor() as cursor:
        sent_ids = _returning(cursor, _SENT_SQL, {
            **base, "ids": [o.row.id for o in sent], "providers": [o.provider for o in sent],
            "pids": [(r.provider_message_id or "")[:255] for r in results],
            "rids": [json.dumps(r.recipient_message_ids or {}) for r in results],
            "ats": [o.at for o in sent], "attempts": [o.row.attempt for o in sent],
        })
        retry_ids = _returning(cursor, _RETRY_SQL, {
            **base, "ids": [o.row.id for o in retry], "dues": dues,
            "attempts": [o.row.attempt for o in retry],
            "reasons": [o.error[:2000] for o in retry],
        })
        failed_ids = _returning(cursor, _FAILING_SQL, {
            **base, "ids": [o.row.id for o in failed],
            "attempts": [o.row.attempt for o in failed],
            "reasons": [o.error[:2000] for o in failed],
        })
        history = [
            (o, MessageStatus.SENT, {"provider_message_id": r.provider_message_id})
            for o, r in zip(sent, results, strict=True) if o.row.id in sent_ids
        ] + [
            (o, MessageStatus.QUEUED, {"reason": o.error[:2000], "attempt": o.row.attempt,
                                       "retry_at": due.isoformat()})
            for o, due in zip(retry, dues, strict=True) if o.row.id in retry_ids
        ]
        if history:
            cursor.execute(_HISTORY_SQL, {
                "now": now, "tenants": [o.row.tenant_id for o, _, _ in history],
                "ids": [o.row.id for o, _, _ in history],
                "statuses": [status for _, status, _ in history],
                "ats": [o.at for o, _, _ in history],
                "sources": [o.provider or "doxie" for o, _, _ in history],
                "details": [json.dumps(detail) for _, _, detail in history],
            })
        for o in failed:
            if o.row.id in failed_ids:
                record_status(Message(pk=o.row.id), MessageStatus.FAILED,
                              source=o.provider or "doxie", occurred_at=o.at,
                              detail={"reason": o.error[:2000]})
        emit_sent(brand, [(o.row.id, o.result or SendResult(provider_message_id=None), o.at)
                          for o in sent if o.row.id in sent_ids])
        done = sorted({o.row.process_id for o in sent + failed
                       if o.row.id in sent_ids or o.row.id in failed_ids})
        if done:
            cursor.execute(_FINISH_SQL, {"now": now, "ids": done})


# --- sending (async; no database) -----------------------------------------------------------


class TokenBucket:
    """``rate`` sends per second with bursts of a tenth of a second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate / 10)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # FIFO: waiters are served in arrival order
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


_PROVIDER_NAMES = {
    "SmtpProvider": "smtp", "MailjetProvider": "mailjet", "SesProvider": "ses",
    "SevenSmsProvider": "seven", "SevenRcsProvider": "seven",
}


def _provider_name(adapter: Any) -> str:
    """The ``source`` name the history and inbound callbacks use for this adapter."""
    name = type(adapter).__name__
    return _PROVIDER_NAMES.get(name, "outbox" if name.startswith("Outbox") else name.lower())[:16]


async def send_one(brand: Any, row: Outgoing) -> Outcome:
    """One provider call; never raises (every failure is an outcome to record)."""
    outcome = Outcome(row=row, kind="retry", at=timezone.now())
    secrets = row.secrets  # filled into the provider's copy only (messaging.secret_links)
    try:
        if row.channel == Channel.EMAIL:
            adapter: Any = registry.email_provider_for(brand)
            outcome.provider = _provider_name(adapter)
            outcome.result = await adapter.send_email(EmailMessage(
                message_id=row.public_id, sender=row.sender, to=[row.recipient],
                subject=secret_links.fill(row.subject, secrets) or "",
                html=secret_links.fill(row.html, secrets, html=True) or None,
                text=secret_links.fill(row.text, secrets) or None,
                sender_name=row.sender_name or None, reply_to=row.reply_to or None,
                headers=row.headers,
            ))
        elif row.channel == Channel.SMS:
            adapter = registry.sms_provider_for(brand)
            outcome.provider = _provider_name(adapter)
            outcome.result = await adapter.send_sms(SmsMessage(
                message_id=row.public_id, sender=row.sender or None, to=row.recipient,
                text=secret_links.fill(row.text, secrets) or "",
            ))
        else:
            adapter = registry.rcs_provider_for(brand)
            outcome.provider = _provider_name(adapter)
            outcome.result = await adapter.send_rcs(RcsMessage(
                message_id=row.public_id, sender=row.sender or None, to=row.recipient,
                content=secret_links.fill_json(row.rcs_content, secrets),
            ))
    except RetryableError as exc:
        outcome.error, outcome.retry_after = exc.reason, exc.retry_after
    except PermanentError as exc:
        outcome.kind, outcome.error = "failed", exc.reason
    except Exception as exc:  # a bug must cost a retry, never the batch
        log.exception("unexpected error sending message %s", row.id)
        outcome.error = f"internal error: {type(exc).__name__}"
    else:
        outcome.kind = "sent"
    outcome.at = timezone.now()
    return outcome


async def send_batch(brand: Any, rows: list[Outgoing], bucket: TokenBucket) -> list[Outcome]:
    gate = asyncio.Semaphore(concurrency())

    async def one(row: Outgoing) -> Outcome:
        async with gate:
            await bucket.acquire()
            return await send_one(brand, row)

    return list(await asyncio.gather(*(one(row) for row in rows)))


# --- the spec on the core drain engine -----------------------------------------------------


@transaction.atomic
def release_expired_claims(limit: int = 10_000) -> int:
    """``sending`` rows whose lease expired (their worker died) become due again.

    The provider may already have accepted such a message; sending it again with the same
    Message-ID / CustomID is the at-least-once price of never losing one.
    """
    now = timezone.now()
    rows = list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=MessageStatus.SENDING, claimed_until__lt=now)
        .values_list("id", "tenant_id")[:limit]
    )
    if not rows:
        return 0
    Message.objects.filter(id__in=[i for i, _ in rows]).update(
        status=MessageStatus.QUEUED, next_attempt_at=now, claimed_until=None, lease_token=None,
        updated_at=now,
    )
    History.objects.bulk_create(
        History(
            tenant_id=tenant_id, message_id=message_id, status=MessageStatus.QUEUED,
            occurred_at=now, detail={"reason": "claim expired (worker stopped); requeued"},
        )
        for message_id, tenant_id in rows
    )
    return len(rows)


class BrandDrain(DrainSpec[int, Outgoing]):
    """Messaging's part of the drain: claim a brand's due messages, send them, record."""

    def time_budget(self) -> float:
        return float(_setting("DOXIE_MESSAGING_DRAIN_BUDGET", 60.0))

    def claim(self, run: Run[int]) -> Batch[Outgoing] | None:
        claim = claim_batch(run.key, run.token)
        if claim.brand is None:
            return None  # every slot is busy (those runs loop until nothing is due), or gone
        return Batch(claim.rows, claim.claimed_any, fan_out=claim.full and claim.free_slots > 0,
                     context=claim)

    async def process(self, run: Run[int], batch: Batch[Outgoing]) -> int:
        claim: Claim = batch.context
        bucket: TokenBucket | None = run.memo.get("bucket")
        if bucket is None or bucket.rate != claim.rate:
            bucket = run.memo["bucket"] = TokenBucket(claim.rate)
        outcomes = await send_batch(claim.brand, batch.rows, bucket)
        await sync_to_async(record_results)(claim.brand, run.token, outcomes)
        return len(outcomes)

    def release(self, run: Run[int]) -> None:
        DrainerLease.objects.release(run.key, run.token)

    def next_due(self, key: int) -> datetime | None:
        return Message.objects.filter(brand_id=key, status=MessageStatus.QUEUED).aggregate(
            due=Min("next_attempt_at"))["due"]

    def release_expired(self, now: datetime) -> int:
        return release_expired_claims()

    def due_keys(self, now: datetime) -> list[int]:
        """Brands with due messages (one index probe per brand)."""
        from doxie.brands.models import Brand

        due = Message.objects.filter(
            brand=OuterRef("pk"), status=MessageStatus.QUEUED, next_attempt_at__lte=now
        )
        return list(Brand.objects.filter(Exists(due)).values_list("id", flat=True))


DRAIN: Drainer[int, Outgoing] = Drainer(queueing.QUEUE, BrandDrain())


async def drain_brand(brand_id: int, *, budget: float | None = None) -> int:
    """Send everything due for one brand; returns the number of send attempts made.

    Exits at once when all the brand's slots are held (those runs loop until nothing is
    due). After releasing its slot a run checks once more for due rows, so rows queued by a
    job that left for lack of a slot are never stranded. After ``budget`` seconds
    (``DOXIE_MESSAGING_DRAIN_BUDGET``, 60) the run hands over to a fresh drainer job, so a
    busy brand cannot hold a worker slot for ever.
    """
    return await DRAIN.run(brand_id, budget=budget)
