"""What every provider adapter promises: a result or one of two errors, nothing else.

Delivery code only needs to know whether to try again later (``RetryableError``) or give up
(``PermanentError``); adapters translate every provider/transport failure into one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderError(Exception):
    """Base of the two outcomes below; ``reason`` is safe to show to the tenant."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RetryableError(ProviderError):
    """Timeouts, connection failures, 5xx, 429, throttling: try again later."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """Rejected recipient, bad credentials, malformed request: retrying cannot help."""


@dataclass
class SendResult:
    """``provider_message_id`` is the provider's id for the whole send;
    ``recipient_message_ids`` maps each recipient to the provider's per-recipient id."""

    provider_message_id: str | None
    recipient_message_ids: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class EmailMessage:
    """A fully rendered email. ``message_id`` is OUR id (used as Message-ID / CustomID),
    so a retried send can be recognised as the same message by the provider and by us."""

    message_id: str
    sender: str
    to: list[str]
    subject: str
    html: str | None = None
    text: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    list_unsubscribe: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SmsMessage:
    message_id: str
    sender: str | None
    to: str
    text: str


@dataclass
class RcsMessage:
    """``content`` is seven.io's RCS message body minus recipient/sender (text, suggestions…)."""

    message_id: str
    sender: str | None
    to: str
    content: dict[str, Any]


class EmailProvider(Protocol):
    async def send_email(self, message: EmailMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


class SmsProvider(Protocol):
    async def send_sms(self, message: SmsMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


class RcsProvider(Protocol):
    async def send_rcs(self, message: RcsMessage) -> SendResult: ...

    async def aclose(self) -> None: ...
