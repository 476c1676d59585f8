"""The one way Doxie writes a moment as text: ISO 8601 in UTC with a ``Z``.

Webhook payloads, API bodies and the consent ledger's canonical form all use it, so a
receiver never sees ``+00:00`` in one place and ``Z`` in another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Timespec = Literal["auto", "seconds", "milliseconds", "microseconds"]


def isoformat_z(value: datetime, *, timespec: Timespec = "auto") -> str:
    """``2024-01-02T03:04:05.123456Z``; ``timespec`` as for ``datetime.isoformat``.

    A naive datetime is taken as UTC (Django stores and returns aware ones; a naive one can
    only come from a parser that dropped the offset, and UTC is what our callers mean).
    ``timespec="microseconds"`` always writes six digits: the ledger hashes that exact text.
    """
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
