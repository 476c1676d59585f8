"""The one clock of time-driven engines (journeys): ``now()``, replaceable in tests.

Send windows and ``wait_until`` depend on the wall clock's weekday and hour; a test that
needs "Saturday 23:00" sets the clock instead of waiting for Saturday. Production code calls
``clock.now()`` where it would call ``timezone.now()``; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)


def now() -> datetime:
    """The current time (aware, UTC), shifted by the test clock's offset if one is set."""
    return timezone.now() + _offset


@contextmanager
def travel(to: datetime) -> Iterator[None]:
    """Inside the block the clock reads ``to`` and then runs on in real time."""
    global _offset
    previous = _offset
    _offset = to - timezone.now()
    try:
        yield
    finally:
        _offset = previous
