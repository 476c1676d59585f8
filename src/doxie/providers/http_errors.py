"""Turn whatever an HTTP provider call produced into the two outcomes delivery understands.

Every HTTP adapter (Mailjet, seven.io, ...) funnels its calls through :func:`request`, so the
question "should this be retried?" is answered in exactly one place:

* transport trouble (timeouts, refused / reset connections, protocol errors): the provider may
  never have seen the request, so trying again later is safe -> ``RetryableError``;
* ``408``, ``425``, ``429`` and every ``5xx``: the provider said "not now" -> ``RetryableError``,
  carrying ``Retry-After`` when the provider sent one, so we don't hammer a throttled API;
* every other ``4xx``: our request or credentials are wrong and repeating it cannot help ->
  ``PermanentError``, with the provider's own error text so a tenant can fix the cause.

Provider error text is included in ``reason`` (it is shown to the tenant), but never request
headers, so API keys cannot leak through it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx

from doxie.core.retry_after import parse_retry_after
from doxie.providers.base import PermanentError, ProviderError, RetryableError

#: Shared default for pooled provider clients: a dead host fails fast, a slow one within 15 s.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
#: Upper bound for a whole call (httpx timeouts are per phase, not per request).
DEFAULT_TOTAL_TIMEOUT = 15.0

_RETRYABLE_4XX = frozenset({408, 425, 429})
_MAX_DETAIL = 300
# Keys under which the providers we talk to put a human-readable error.
_TEXT_KEYS = ("ErrorMessage", "error_text", "ErrorInfo", "message", "error", "detail")


def to_provider_error(
    source: httpx.Response | BaseException, *, provider: str, detail: str | None = None
) -> ProviderError:
    """Map a failed response or a transport exception to ``RetryableError``/``PermanentError``.

    ``detail`` overrides the error text dug out of the response body, for adapters that know
    their provider's error shape better than the generic extraction below.
    """
    if isinstance(source, httpx.Response):
        return _from_response(source, provider=provider, detail=detail)
    return _from_exception(source, provider=provider)


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
    **kwargs: Any,
) -> httpx.Response:
    """Perform one call and return the response only if it is a 2xx.

    Anything else is raised as a ``ProviderError`` (see module docstring). ``total_timeout``
    bounds the whole exchange, because httpx only limits each phase (connect, each read...)
    and a provider trickling bytes could otherwise hold a worker for far longer.
    """
    try:
        async with asyncio.timeout(total_timeout):
            response = await client.request(method, url, **kwargs)
    except TimeoutError as exc:
        raise RetryableError(
            f"{provider}: no complete response within {total_timeout:g} s"
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise to_provider_error(exc, provider=provider) from exc
    if response.is_success:
        return response
    raise to_provider_error(response, provider=provider)


def response_json(response: httpx.Response, *, provider: str) -> Any:
    """Decode a 2xx body; a provider answering success with garbage is treated as transient
    (a proxy/maintenance page), since the request itself was well-formed."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RetryableError(
            f"{provider}: unreadable response ({_snippet(response.text)!r})",
            status=response.status_code,
        ) from exc


def error_text(response: httpx.Response) -> str | None:
    """Best-effort human-readable error from a provider response body."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return _snippet(text) if text else None
    texts = list(dict.fromkeys(_find_texts(body)))  # de-duplicate, keep order
    if texts:
        return _snippet("; ".join(texts))
    if isinstance(body, str | int | float) and not isinstance(body, bool):
        return _snippet(str(body))  # seven.io may answer with a bare status code
    return None


def _from_response(response: httpx.Response, *, provider: str, detail: str | None) -> ProviderError:
    status = response.status_code
    text = detail if detail is not None else error_text(response)
    reason = f"{provider}: HTTP {status}" + (f": {text}" if text else "")
    if status in _RETRYABLE_4XX or status >= 500:
        return RetryableError(
            reason,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return PermanentError(reason, status=status)


def _from_exception(exc: BaseException, *, provider: str) -> ProviderError:
    if isinstance(exc, httpx.TimeoutException):
        return RetryableError(f"{provider}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        # A misconfigured base URL will not fix itself by waiting.
        return PermanentError(f"{provider}: invalid provider URL ({exc})")
    if isinstance(exc, httpx.TransportError):
        return RetryableError(f"{provider}: connection failed ({type(exc).__name__}: {exc})")
    if isinstance(exc, httpx.HTTPStatusError):
        return _from_response(exc.response, provider=provider, detail=None)
    if isinstance(exc, TimeoutError):
        return RetryableError(f"{provider}: timed out")
    return RetryableError(f"{provider}: {type(exc).__name__}: {exc}")


def _find_texts(node: Any, depth: int = 0) -> Iterator[str]:
    """Walk a JSON body (bounded depth) yielding error strings under well-known keys,
    e.g. Mailjet's ``Messages[*].Errors[*].ErrorMessage`` or seven.io's ``error_text``."""
    if depth > 6:
        return
    if isinstance(node, dict):
        for key in _TEXT_KEYS:
            value = node.get(key)
            if isinstance(value, str) and value.strip():
                yield value.strip()
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _find_texts(value, depth + 1)
    elif isinstance(node, list):
        for item in node[:20]:
            yield from _find_texts(item, depth + 1)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
