"""The HTTP side of delivery: signed POSTs through the SSRF-guarded client, and what a
response means. No database access here, so it can run freely on the event loop.

Clients are pooled per worker process and event loop, one per endpoint (and origin):
httpcore's pool scans all of its connections for every request, so one pool shared by
every endpoint costs O(connections × requests) and, beyond its 20 keep-alive slots,
reconnects constantly. A small pool per endpoint (≤ ``concurrency`` requests in flight)
measured over 2× faster in ``bench/webhooks_bench.py`` and keeps one slow endpoint's
connections from crowding out the others. The cache is LRU-bounded and a client is closed
only once no batch is using it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import ssl
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone

from doxie.core.http import SafeClient, UnsafeURLError
from doxie.webhooks.signing import signature_header

log = logging.getLogger("doxie.webhooks")

RESPONSE_CAP = 64 * 1024


def setting(name: str, default: Any) -> Any:
    """Webhook tunables, read at call time so tests can override them."""
    return getattr(settings, name, default)


def request_timeout() -> float:
    return float(setting("DOXIE_WEBHOOK_TIMEOUT", 15.0))


@dataclass(frozen=True)
class Target:
    """What a batch needs to know about its endpoint, read once per claim."""

    id: int
    url: str
    auth: tuple[str, str] | None
    keys: tuple[bytes, ...]
    is_active: bool


@dataclass
class Claimed:
    id: int
    event: str
    event_id: str
    body: bytes
    attempt: int  # the number this attempt will have (1-based)


@dataclass
class Outcome:
    row: Claimed
    attempted_at: datetime
    kind: str  # "success" | "retry" | "final" | "gone"
    response_code: int | None = None
    response_payload: Any = None
    duration_ms: int = 0
    error: str = ""
    retry_after: float | None = None


# --- pooled clients -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle is slow and memory-hungry: one context for every client."""
    return httpx.create_ssl_context()


class _Entry:
    __slots__ = ("client", "users", "evicted")

    def __init__(self, client: SafeClient) -> None:
        self.client, self.users, self.evicted = client, 0, False


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict[str, _Entry]] = (
    weakref.WeakKeyDictionary()
)


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
        return f"{parsed.scheme}://{parsed.host}:{parsed.port or ''}"
    except (httpx.InvalidURL, TypeError):
        return "invalid"  # SafeClient refuses it with a proper message


@asynccontextmanager
async def pooled_client(endpoint_id: int, url: str) -> AsyncIterator[SafeClient]:
    """The worker's client for one endpoint, held for the duration of one batch."""
    pools = _pools.setdefault(asyncio.get_running_loop(), OrderedDict())
    key = f"{endpoint_id}|{_origin(url)}"
    entry = pools.get(key)
    if entry is None:
        entry = pools[key] = _Entry(
            SafeClient(ssl_context=_ssl_context(), timeout=request_timeout())
        )
    pools.move_to_end(key)
    entry.users += 1
    evicted: list[_Entry] = []
    while len(pools) > int(setting("DOXIE_WEBHOOK_MAX_CLIENTS", 256)):
        _, old = pools.popitem(last=False)
        old.evicted = True
        evicted.append(old)
    for old in evicted:
        if old.users == 0:
            await old.client.aclose()
    try:
        yield entry.client
    finally:
        entry.users -= 1
        if entry.evicted and entry.users == 0:
            await entry.client.aclose()


async def close_pooled_clients() -> None:
    """Close this event loop's clients (worker shutdown, bench, tests)."""
    pools = _pools.pop(asyncio.get_running_loop(), OrderedDict())
    for entry in pools.values():
        await entry.client.aclose()


# --- one attempt --------------------------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():  # "¹" is a latin-1 header byte and isdigit()
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def _storable(value: Any) -> bool:
    """jsonb refuses NUL characters and lone surrogates; check before the UPDATE does."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return "\\u0000" not in text


def response_payload(response: httpx.Response) -> Any:
    """The body as JSON when it is JSON, else ``{"body": text}``; capped at 64 KiB."""
    raw = response.content
    text = raw[:RESPONSE_CAP].decode("utf-8", "replace")
    if len(raw) <= RESPONSE_CAP and text.strip():
        try:
            value = json.loads(text)
        except ValueError:
            pass
        else:
            if _storable(value):
                return value
    payload: dict[str, Any] = {"body": text.replace("\x00", "")}
    if len(raw) > RESPONSE_CAP:
        payload["truncated"] = True
    return payload


def classify(response: httpx.Response) -> tuple[str, str, float | None]:
    """(kind, error, retry_after) for one response."""
    code = response.status_code
    if 200 <= code < 300:
        return "success", "", None
    if code == 410:
        return "gone", "410 Gone: the endpoint was deactivated", None
    if 300 <= code < 400:
        location = response.headers.get("Location", "")
        return "retry", f"redirect {code} not followed (Location: {location[:200]})", None
    retry_after = _retry_after(response) if code in (429, 503) else None
    return "retry", f"HTTP {code}", retry_after


async def deliver(client: SafeClient, target: Target, row: Claimed) -> Outcome:
    """One signed POST; never raises (every failure is an outcome to record)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "Doxie-Event": row.event,
        "webhook-id": row.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(list(target.keys), row.event_id, timestamp, row.body),
    }
    outcome = Outcome(row=row, attempted_at=timezone.now(), kind="retry")
    started = time.monotonic()
    try:
        response = await client.post(
            target.url, content=row.body, headers=headers, auth=target.auth,
            timeout=request_timeout(),
        )
    except UnsafeURLError as exc:
        outcome.kind, outcome.error = "final", f"refused by the SSRF guard: {exc}"
    except httpx.TimeoutException as exc:
        outcome.error = f"timeout: {exc or 'no response in time'}"
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug must cost a retry, never the batch
        log.exception("unexpected error delivering interaction %s", row.id)
        outcome.error = f"internal error: {type(exc).__name__}"
    else:
        outcome.kind, outcome.error, outcome.retry_after = classify(response)
        outcome.response_code = response.status_code
        outcome.response_payload = response_payload(response)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


async def deliver_batch(
    client: SafeClient, target: Target, rows: list[Claimed], parallel: int
) -> list[Outcome]:
    """All rows of a claim, at most ``parallel`` in flight (per-endpoint politeness)."""
    gate = asyncio.Semaphore(parallel)

    async def one(row: Claimed) -> Outcome:
        async with gate:
            return await deliver(client, target, row)

    return list(await asyncio.gather(*(one(row) for row in rows)))
