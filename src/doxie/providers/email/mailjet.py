"""Mailjet adapter: Send API v3.1 for delivery, REST v3 ``eventcallbackurl`` for webhooks.

Why these choices:

* One pooled ``httpx.AsyncClient`` per provider instance: TLS handshakes to Mailjet are the
  slowest part of a send, so connections are reused across messages.
* ``CustomID`` carries OUR message id. Mailjet echoes it in every event callback, so events
  can be matched to our message even when a retried send produced a second Mailjet message.
* Every failure goes through :mod:`doxie.providers.http_errors`, so "retry or give up" is
  decided the same way for every provider.
* Webhook registration is idempotent and scoped: running it twice leaves one callback per
  event type, and deletion only touches callbacks under *our* URL prefix so a customer's own
  hooks on the same Mailjet account survive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from doxie.providers.base import EmailMessage, PermanentError, SendResult
from doxie.providers.http_errors import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    request,
    response_json,
)

PROVIDER = "mailjet"
#: Event types Mailjet can call back for (documented ``EventType`` values).
EVENT_TYPES = ("sent", "open", "click", "bounce", "spam", "blocked", "unsub")
_CALLBACK_PATH = "/v3/REST/eventcallbackurl"
_LIST_LIMIT = 1000  # Mailjet's maximum page size; an account has at most a few dozen hooks.


@dataclass(frozen=True)
class MailjetSettings:
    """Credentials and endpoint of one Mailjet account (a tenant's or ours)."""

    public_api_key: str
    private_api_key: str = field(repr=False)
    sandbox: bool = False
    base_url: str = "https://api.mailjet.com"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.public_api_key, self.private_api_key)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def new_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """A pooled client with the project-wide provider timeouts (connect 5 s, 15 s per phase)."""
    return httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
        headers={"Accept": "application/json"},
    )


class MailjetProvider:
    """``EmailProvider`` backed by Mailjet's Send API v3.1."""

    name = PROVIDER

    def __init__(
        self,
        settings: MailjetSettings,
        client: httpx.AsyncClient | None = None,
        *,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
    ) -> None:
        self.settings = settings
        self._owns_client = client is None
        self._client = client if client is not None else new_client()
        self._total_timeout = total_timeout

    async def send_email(self, message: EmailMessage) -> SendResult:
        """Send one message (possibly to several recipients) and return Mailjet's ids.

        ``provider_message_id`` is the first recipient's ``MessageID`` (Mailjet has no id for
        the whole send); ``recipient_message_ids`` maps every address to its own MessageID,
        which is what Mailjet's event callbacks carry as ``MessageID``.
        """
        payload = build_send_payload(message, sandbox=self.settings.sandbox)
        response = await request(
            self._client,
            "POST",
            self.settings.url("/v3.1/send"),
            provider=PROVIDER,
            total_timeout=self._total_timeout,
            auth=self.settings.auth,
            json=payload,
        )
        body = response_json(response, provider=PROVIDER)
        return parse_send_response(body, requested=message.to)

    async def aclose(self) -> None:
        """Close the pool, but only if we created it (an injected client belongs to the caller)."""
        if self._owns_client:
            await self._client.aclose()


def build_send_payload(message: EmailMessage, *, sandbox: bool) -> dict[str, Any]:
    """The v3.1 request body for ``message``; rejects locally what Mailjet would reject anyway,
    so an obviously broken message fails permanently without a network round trip."""
    if not message.to:
        raise PermanentError(f"{PROVIDER}: message has no recipients")
    if not (message.text or message.html):
        raise PermanentError(f"{PROVIDER}: message has neither a text nor an HTML part")
    sender: dict[str, str] = {"Email": message.sender}
    if message.sender_name:
        sender["Name"] = message.sender_name
    entry: dict[str, Any] = {
        "From": sender,
        "To": [{"Email": address} for address in message.to],
        "Subject": message.subject,
        "CustomID": message.message_id,
    }
    if message.text:
        entry["TextPart"] = message.text
    if message.html:
        entry["HTMLPart"] = message.html
    if message.reply_to:
        entry["ReplyTo"] = {"Email": message.reply_to}
    headers = dict(message.headers)
    if message.list_unsubscribe:
        headers["List-Unsubscribe"] = message.list_unsubscribe
    if headers:
        entry["Headers"] = headers
    return {"Messages": [entry], "SandboxMode": sandbox}


def parse_send_response(body: Any, *, requested: list[str]) -> SendResult:
    """Extract per-recipient ids from a v3.1 response, or raise on a message-level error.

    Mailjet may normalise addresses (case), so ids are keyed by the address *we* asked for when
    it matches case-insensitively; lookups by our own recipient list then always work.
    """
    messages = body.get("Messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        # 2xx without a result: the mail may well be out, so retrying could duplicate it.
        raise PermanentError(f"{PROVIDER}: unexpected send response (no Messages)")
    first: dict[str, Any] = messages[0]
    if str(first.get("Status", "")).lower() == "error":
        errors = [e for e in first.get("Errors") or [] if isinstance(e, dict)]
        texts = [str(e.get("ErrorMessage")) for e in errors if e.get("ErrorMessage")]
        status = errors[0].get("StatusCode") if errors else None
        raise PermanentError(
            f"{PROVIDER}: " + ("; ".join(texts) or "message rejected"),
            status=status if isinstance(status, int) else None,
        )
    ours = {address.lower(): address for address in requested}
    recipient_ids: dict[str, str] = {}
    for field_name in ("To", "Cc", "Bcc"):
        for item in first.get(field_name) or []:
            if not isinstance(item, dict) or item.get("MessageID") is None:
                continue
            email = str(item.get("Email", ""))
            recipient_ids[ours.get(email.lower(), email)] = str(item["MessageID"])
    provider_id = next(iter(recipient_ids.values()), None)
    return SendResult(
        provider_message_id=provider_id, recipient_message_ids=recipient_ids, raw=body
    )


# --- event callbacks (webhooks) -----------------------------------------------------------


@asynccontextmanager
async def _rest_client(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """Webhook set-up is rare (tenant onboarding), so a short-lived client is fine unless
    the caller hands one in."""
    if client is not None:
        yield client
        return
    async with new_client() as owned:
        yield owned


async def list_event_callbacks(
    settings: MailjetSettings, *, client: httpx.AsyncClient | None = None
) -> list[dict[str, Any]]:
    """All event callbacks of the account (``Data`` of ``GET /v3/REST/eventcallbackurl``)."""
    async with _rest_client(client) as http:
        return await _list(http, settings)


async def register_event_callbacks(
    settings: MailjetSettings,
    url: str,
    event_types: list[str],
    *,
    version: int = 2,
    client: httpx.AsyncClient | None = None,
) -> list[str]:
    """Make every ``event_types`` entry call back to ``url``; returns the callback IDs in order.

    Idempotent: a type with no callback gets one (POST); a type whose callback points
    elsewhere, is dead, or uses another payload version is updated in place (PUT), because
    Mailjet allows only one primary callback per event type; a correct one is left alone.
    ``version=2`` makes Mailjet batch events into JSON arrays, cutting request volume.
    Backup callbacks (``IsBackup``) are never touched.
    """
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown Mailjet event types: {unknown}")
    async with _rest_client(client) as http:
        current = {
            str(cb.get("EventType")): cb
            for cb in await _list(http, settings)
            if not cb.get("IsBackup")
        }
        ids: list[str] = []
        for event_type in dict.fromkeys(event_types):
            wanted = {"Url": url, "Version": version, "Status": "alive"}
            existing = current.get(event_type)
            if existing is None:
                body = {"EventType": event_type, "IsBackup": False, **wanted}
                created = await _call(http, settings, "POST", _CALLBACK_PATH, json=body)
                ids.append(_first_id(created))
            elif any(existing.get(key) != value for key, value in wanted.items()):
                path = f"{_CALLBACK_PATH}/{existing['ID']}"
                await _call(http, settings, "PUT", path, json=wanted)
                ids.append(str(existing["ID"]))
            else:
                ids.append(str(existing["ID"]))
        return ids


async def delete_event_callbacks(
    settings: MailjetSettings, url_prefix: str, *, client: httpx.AsyncClient | None = None
) -> None:
    """Delete every callback whose ``Url`` starts with ``url_prefix`` (ours), and no other."""
    if not url_prefix:
        raise ValueError("url_prefix must not be empty (it would delete the customer's hooks)")
    async with _rest_client(client) as http:
        for callback in await _list(http, settings):
            if str(callback.get("Url", "")).startswith(url_prefix):
                await _call(http, settings, "DELETE", f"{_CALLBACK_PATH}/{callback['ID']}")


async def _list(http: httpx.AsyncClient, settings: MailjetSettings) -> list[dict[str, Any]]:
    body = await _call(http, settings, "GET", _CALLBACK_PATH, params={"Limit": _LIST_LIMIT})
    data = body.get("Data") if isinstance(body, dict) else None
    return [item for item in data or [] if isinstance(item, dict)]


async def _call(
    http: httpx.AsyncClient, settings: MailjetSettings, method: str, path: str, **kwargs: Any
) -> Any:
    response = await request(
        http, method, settings.url(path), provider=PROVIDER, auth=settings.auth, **kwargs
    )
    if response.status_code == 204 or not response.content:
        return {}
    return response_json(response, provider=PROVIDER)


def _first_id(body: Any) -> str:
    data = body.get("Data") if isinstance(body, dict) else None
    if not data or not isinstance(data[0], dict) or "ID" not in data[0]:
        raise PermanentError(f"{PROVIDER}: unexpected eventcallbackurl response (no ID)")
    return str(data[0]["ID"])
