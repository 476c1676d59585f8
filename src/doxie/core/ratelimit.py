"""Counters kept in PostgreSQL, shared by every process of the deployment.

Two uses of the one ``core_rate_counter`` table:

* ``hit`` / ``blocked_for`` — a fixed window ("at most N events per W seconds"), for
  throttles the caller re-arms on purpose (e.g. re-sending a confirmation).
* ``login_wait`` / ``login_failed`` — exponential back-off on *failed* sign-ins, the one
  mechanism behind HTTP Basic, the admin login and the OAuth2 authorization login. A row
  then holds the number of consecutive failures (``count``) and the time of the latest one
  (``window_start``); failures are forgotten after a quiet period. Successes are never
  written, so the rightful user's traffic costs one read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

_UPSERT = """
INSERT INTO core_rate_counter (key, window_start, count) VALUES (%s, %s, 1)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN core_rate_counter.window_start <= %s THEN 1
               ELSE core_rate_counter.count + 1 END,
  window_start = CASE WHEN core_rate_counter.window_start <= %s THEN EXCLUDED.window_start
                      ELSE core_rate_counter.window_start END
RETURNING count, window_start
"""


def hit(key: str, window_seconds: int) -> int:
    """Count one event for ``key`` in the current window and return the window's count."""
    now = timezone.now()
    expired_before = now - timedelta(seconds=window_seconds)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, now, expired_before, expired_before])
        count, _ = cursor.fetchone()
    return int(count)


def blocked_for(keys: list[str], limit: int, window_seconds: int) -> int:
    """Seconds until every key is under ``limit`` again (0 when none is blocked)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT window_start FROM core_rate_counter "
            "WHERE key = ANY(%s) AND count >= %s AND window_start > %s",
            [keys, limit, now - timedelta(seconds=window_seconds)],
        )
        rows = cursor.fetchall()
    if not rows:
        return 0
    latest_end = max(start + timedelta(seconds=window_seconds) for (start,) in rows)
    return max(1, int((latest_end - now).total_seconds()) + 1)


def reset(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_rate_counter WHERE key = %s", [key])


# --- Exponential back-off on failed sign-ins -------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """``free`` failures cost nothing; failure n >= free blocks for base * 2**(n - free)."""

    free: int
    base: float
    cap: float

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        # Bounded exponent: a counter in the millions must not build a huge integer.
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 64))


def _memory() -> timedelta:
    """Quiet period after which failures are forgotten (never shorter than the cap)."""
    seconds = max(settings.DOXIE_AUTH_FAILURE_MEMORY, settings.DOXIE_AUTH_BACKOFF_MAX)
    return timedelta(seconds=seconds)


def _digest(*parts: str) -> str:
    # Hashing keeps the key short and free of whatever bytes a caller sent as a username.
    material = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()[:40]


def _login_keys(realm: str, username: str, ip: str) -> dict[str, Backoff]:
    """The counters a sign-in attempt is judged by: (realm, username, IP) and the IP alone.

    The pair is what stops guessing one account; it never blocks the account from another
    address, so an attacker cannot lock the rightful user out. The IP counter, with a much
    higher allowance, stops one address spraying many usernames.
    """
    base, cap = settings.DOXIE_AUTH_BACKOFF_BASE, settings.DOXIE_AUTH_BACKOFF_MAX
    return {
        f"login:user:{_digest(realm, username, ip)}": Backoff(
            settings.DOXIE_AUTH_FAILURE_LIMIT, base, cap
        ),
        f"login:ip:{_digest(ip)}": Backoff(settings.DOXIE_AUTH_IP_FAILURE_LIMIT, base, cap),
    }


def login_wait(realm: str, username: str, ip: str) -> int:
    """Seconds the caller must wait before this sign-in is even checked (0: go ahead).

    One read. A blocked attempt is refused without verifying the password, so guessing
    while blocked learns nothing, and it is not counted, so it does not extend the block.
    """
    keys = _login_keys(realm, username, ip)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key, window_start, count FROM core_rate_counter "
            "WHERE key = ANY(%s) AND window_start > %s",
            [list(keys), timezone.now() - _memory()],
        )
        rows = cursor.fetchall()
    now = timezone.now()
    wait = 0.0
    for key, last_failure, failures in rows:
        until = last_failure + timedelta(seconds=keys[key].delay(failures))
        wait = max(wait, (until - now).total_seconds())
    return 0 if wait <= 0 else int(wait) + 1


def login_failed(realm: str, username: str, ip: str) -> None:
    """Count one failed sign-in on every counter of the attempt (one statement)."""
    keys = list(_login_keys(realm, username, ip))
    now = timezone.now()
    values = ", ".join(["(%s, %s, 1)"] * len(keys))
    params: list[object] = []
    for key in keys:
        params += [key, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO core_rate_counter (key, window_start, count) VALUES {values} "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN core_rate_counter.window_start <= %s THEN 1 "
            "             ELSE core_rate_counter.count + 1 END, "
            "window_start = EXCLUDED.window_start",
            [*params, now - _memory()],
        )
