"""seven.io webhook ("hooks") management: where seven.io posts delivery reports and RCS events.

Used at tenant onboarding / reconfiguration, not per message, so every call opens a short-lived
client unless one is passed in. ``subscribe_hook`` is idempotent (seven.io itself would either
refuse or duplicate a second identical hook), and nothing here ever touches a hook we did not
ask for by id, so a customer's own hooks on the same account are safe.

Wire format: ``GET /api/hooks`` lists; ``POST /api/hooks`` with ``action=subscribe`` (or
``action=unsubscribe&id=N``) changes, form-encoded, authenticated with ``X-Api-Key``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from doxie.providers.base import PermanentError
from doxie.providers.http_errors import request, response_json
from doxie.providers.sms.seven import PROVIDER, SevenSettings, code_error, new_client

#: ``dlr`` = SMS delivery reports, ``rcs`` = RCS events and inbound RCS (others for completeness).
EVENT_TYPES = frozenset(
    {"all", "dlr", "sms_mo", "rcs", "rcs_dlr", "rcs_mo", "tracking", "voice_status"}
)
#: ``JSON`` = HTTP POST with a JSON body, which our webhook receivers expect.
REQUEST_METHODS = frozenset({"JSON", "POST", "GET"})
_PATH = "/api/hooks"


@asynccontextmanager
async def _client(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with new_client() as owned:
        yield owned


async def list_hooks(
    settings: SevenSettings, *, client: httpx.AsyncClient | None = None
) -> list[dict[str, Any]]:
    """All hooks of the account, as seven.io returns them (ids are strings)."""
    async with _client(client) as http:
        body = await _call(http, settings, "GET")
    hooks = body.get("hooks") if isinstance(body, dict) else None
    return [hook for hook in hooks or [] if isinstance(hook, dict)]


async def find_hook(
    settings: SevenSettings,
    target_url: str,
    event_type: str,
    *,
    client: httpx.AsyncClient | None = None,
) -> dict[str, Any] | None:
    """The hook delivering ``event_type`` to exactly ``target_url``, if there is one."""
    for hook in await list_hooks(settings, client=client):
        if hook.get("target_url") == target_url and hook.get("event_type") == event_type:
            return hook
    return None


async def subscribe_hook(
    settings: SevenSettings,
    target_url: str,
    event_type: str,
    *,
    request_method: str = "JSON",
    client: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """Ensure a hook ``event_type`` -> ``target_url`` exists and return it (with its ``id``).

    An existing identical hook is returned instead of creating a second one, so calling this
    on every deploy / tenant save is safe.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown seven.io hook event type: {event_type!r}")
    if request_method not in REQUEST_METHODS:
        raise ValueError(f"unknown seven.io request method: {request_method!r}")
    async with _client(client) as http:
        existing = await find_hook(settings, target_url, event_type, client=http)
        if existing is not None:
            return existing
        body = await _call(
            http,
            settings,
            "POST",
            data={
                "action": "subscribe",
                "target_url": target_url,
                "event_type": event_type,
                "request_method": request_method,
            },
        )
    hook_id = body.get("id") if isinstance(body, dict) else None
    if hook_id is None:
        raise PermanentError(f"{PROVIDER}: hook subscription returned no id")
    return {
        "id": str(hook_id),
        "target_url": target_url,
        "event_type": event_type,
        "request_method": request_method,
    }


async def unsubscribe_hook(
    settings: SevenSettings, hook_id: str | int, *, client: httpx.AsyncClient | None = None
) -> None:
    """Delete one hook by id. Raises ``PermanentError`` if seven.io refuses (e.g. unknown id),
    so a caller cleaning up knows the hook may still be firing."""
    async with _client(client) as http:
        await _call(http, settings, "POST", data={"action": "unsubscribe", "id": str(hook_id)})


async def _call(
    http: httpx.AsyncClient, settings: SevenSettings, method: str, **kwargs: Any
) -> dict[str, Any]:
    response = await request(
        http, method, settings.url(_PATH), provider=PROVIDER, headers=settings.headers, **kwargs
    )
    body = response_json(response, provider=PROVIDER)
    if not isinstance(body, dict):  # bare status code, e.g. 900 for a wrong API key
        raise code_error(str(body).strip())
    if body.get("success") is not True and str(body.get("success")) != "100":
        code = body.get("code")
        detail = body.get("message") or body.get("error")
        raise PermanentError(
            f"{PROVIDER}: hooks request refused"
            + (f" (code {code})" if code else "")
            + (f": {detail}" if detail else "")
        )
    return body
