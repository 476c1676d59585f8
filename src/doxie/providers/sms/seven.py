"""seven.io SMS adapter (``POST /api/sms``) plus what the RCS adapter and hooks client share.

seven.io answers most business errors with HTTP 200 and a numeric code in the body (the
top-level ``success`` field, or a bare number), so HTTP status alone says little. Transport and
HTTP-level failures still go through :mod:`doxie.providers.http_errors`; the body code is then
mapped with :data:`SEVEN_CODES`:

====  ==========================================================  ==========
code  meaning                                                     outcome
====  ==========================================================  ==========
100   accepted                                                    success
101   sending to at least one recipient failed -> per-message     see below
201   invalid sender                                              permanent
202   invalid recipient number                                    permanent
301   recipient (``to``) missing                                  permanent
305   text missing                                                permanent
401   text too long                                               permanent
402   reload lock: identical SMS already sent within 180 s        permanent
403   daily limit for this recipient reached                      retryable
500   insufficient credit (can be topped up)                      retryable
600   carrier delivery failed                                     retryable
700   unknown error at seven.io                                   retryable
900   authentication failed (wrong API key)                       permanent
901   signature verification failed                               permanent
902   API key has no access rights to this endpoint               permanent
903   server IP not allowed for this key                          permanent
====  ==========================================================  ==========

402 is permanent on purpose: the identical text already went to this recipient moments ago,
so "retrying" can only produce a duplicate. Unknown codes are permanent so a misunderstanding
never turns into an endless retry loop. With 101 (or 100 but a message with ``success: false``)
the message's own ``error`` code is mapped by the same table, defaulting to permanent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from doxie.providers.base import (
    PermanentError,
    ProviderError,
    RetryableError,
    SendResult,
    SmsMessage,
)
from doxie.providers.http_errors import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    request,
    response_json,
)

PROVIDER = "seven.io"

#: seven.io status code -> (retryable?, meaning). See the module docstring for the reasoning.
SEVEN_CODES: dict[str, tuple[bool, str]] = {
    "201": (False, "invalid sender"),
    "202": (False, "invalid recipient number"),
    "301": (False, "recipient missing"),
    "305": (False, "text missing"),
    "401": (False, "text too long"),
    "402": (False, "reload lock: identical message already sent within 180 s"),
    "403": (True, "daily limit for this recipient reached"),
    "500": (True, "insufficient credit"),
    "600": (True, "carrier delivery failed"),
    "700": (True, "unknown error at seven.io"),
    "900": (False, "authentication failed (check the API key)"),
    "901": (False, "signature verification failed"),
    "902": (False, "API key has no access rights to this endpoint"),
    "903": (False, "server IP not allowed for this API key"),
}
_OK = "100"
_PARTIAL = "101"


@dataclass(frozen=True)
class SevenSettings:
    """API key and endpoint of one seven.io account."""

    api_key: str = field(repr=False)
    base_url: str = "https://gateway.seven.io"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key, "Accept": "application/json"}

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def new_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """Pooled client with the project-wide provider timeouts (connect 5 s, 15 s per phase)."""
    return httpx.AsyncClient(
        timeout=timeout, limits=httpx.Limits(max_connections=50, max_keepalive_connections=10)
    )


def code_error(code: str, text: str | None = None) -> ProviderError:
    """The error for a non-success seven.io code; unknown codes are permanent."""
    retryable, meaning = SEVEN_CODES.get(code, (False, "unrecognised status code"))
    reason = f"{PROVIDER}: {code} {meaning}" + (f" ({text})" if text and text != meaning else "")
    return RetryableError(reason) if retryable else PermanentError(reason)


def parse_send_response(body: Any, *, recipient: str) -> SendResult:
    """Map a ``/api/sms`` or ``/api/rcs/messages`` JSON answer to a result or an error."""
    if isinstance(body, bool) or not isinstance(body, dict | str | int):
        raise PermanentError(f"{PROVIDER}: unexpected send response")
    if not isinstance(body, dict):  # bare code, e.g. ``900`` for a wrong key
        code = str(body).strip()
        if code == _OK:
            return SendResult(provider_message_id=None, raw={"success": code})
        raise code_error(code)
    code = str(body.get("success", "")).strip()
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if code not in (_OK, _PARTIAL):
        first = messages[0] if messages else {}
        raise code_error(code, _text(first.get("error_text")))
    failed = [m for m in messages if m.get("success") is False]
    if code == _PARTIAL or failed:
        # We always send to exactly one recipient, so "some failed" means "ours failed".
        bad = failed[0] if failed else {}
        own_code = str(bad.get("error") or "").strip()
        raise code_error(own_code or _PARTIAL, _text(bad.get("error_text")))
    ids = [str(m["id"]) for m in messages if m.get("id") is not None]
    provider_id = ids[0] if ids else None
    recipient_ids = {recipient: provider_id} if provider_id else {}
    return SendResult(
        provider_message_id=provider_id, recipient_message_ids=recipient_ids, raw=body
    )


def _text(value: Any) -> str | None:
    return str(value) if value else None


class SevenClient:
    """What the SMS and RCS adapters share: settings, one pooled client, its ownership."""

    name = PROVIDER

    def __init__(
        self,
        settings: SevenSettings,
        client: httpx.AsyncClient | None = None,
        *,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
    ) -> None:
        self.settings = settings
        self._owns_client = client is None
        self._client = client if client is not None else new_client()
        self._total_timeout = total_timeout

    async def aclose(self) -> None:
        """Close the pool, but only if we created it (an injected client belongs to the caller)."""
        if self._owns_client:
            await self._client.aclose()


class SevenSmsProvider(SevenClient):
    """``SmsProvider`` backed by seven.io's SMS endpoint."""

    async def send_sms(self, message: SmsMessage) -> SendResult:
        """Send one SMS. ``foreign_id`` carries our message id so seven.io's delivery reports
        (``dlr`` hook) can be matched to our message without a lookup by seven's id."""
        if not message.to or not message.text:
            raise PermanentError(f"{PROVIDER}: SMS needs a recipient and a text")
        payload: dict[str, Any] = {
            "to": message.to,
            "text": message.text,
            "foreign_id": message.message_id,
            "json": 1,
        }
        if message.sender:
            payload["from"] = message.sender
        return await post_message(
            self._client,
            self.settings,
            "/api/sms",
            payload,
            recipient=message.to,
            total_timeout=self._total_timeout,
        )


async def post_message(
    client: httpx.AsyncClient,
    settings: SevenSettings,
    path: str,
    payload: dict[str, Any],
    *,
    recipient: str,
    total_timeout: float | None,
) -> SendResult:
    """POST a send request (SMS or RCS share the wire format) and interpret the answer."""
    response = await request(
        client,
        "POST",
        settings.url(path),
        provider=PROVIDER,
        total_timeout=total_timeout,
        headers=settings.headers,
        json=payload,
    )
    return parse_send_response(response_json(response, provider=PROVIDER), recipient=recipient)
