"""The one ``Retry-After`` parser, shared by the provider adapters and webhook delivery.

RFC 9110 §10.2.3: the header is either a number of seconds or an HTTP date. Anything else
(empty, garbage, negative, ``inf``) means "no hint", so the caller's own back-off applies; a
date in the past means "now" (0). Callers cap the result to their own maximum.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait, or None when the header is absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        # ASCII only: float() also reads "١٢" (Arabic-Indic digits) as 12.
        seconds = float(text) if text.isascii() else math.nan
    except ValueError:
        pass
    else:
        # Fractions are not in the RFC but harmless; negative or non-finite values are junk.
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
