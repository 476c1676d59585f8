"""Message-event listeners: apps that react to what happened to a message (journeys' wait_for).

Messaging must not import the apps built on it, so they register a function here in their
``AppConfig.ready()``. ``record_status`` calls every listener inside its transaction, with the
message row locked, for each *new* status report (a duplicate provider callback is not
news), whether or not it advanced the message's current status: a delivery report arriving
after the click is still a delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

#: fn(message, status, occurred_at); ``message.process`` is loaded.
Listener = Callable[[Any, str, datetime], None]

_listeners: list[Listener] = []


def register_message_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def notify(message: Any, status: str, occurred_at: datetime) -> None:
    for listener in _listeners:
        listener(message, status, occurred_at)
