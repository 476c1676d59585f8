"""Fixed-window counters kept in PostgreSQL, shared by every process of the deployment."""

from __future__ import annotations

from datetime import timedelta

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
